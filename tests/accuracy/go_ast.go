// Command go_ast lists the declarations Go's own parser sees in every .go file under a
// directory, as JSON [{path, kind, name, line}], for Doctown's accuracy test. Kinds follow
// Doctown's: module (the package clause), function, method, struct, interface, type (every
// other defined type: `type T U`), type_alias (`type T = U`), constant and static (package-level
// const and var).
//
// Usage: go run go_ast.go DIR
package main

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

type item struct {
	Path string `json:"path"`
	Kind string `json:"kind"`
	Name string `json:"name"`
	Line int    `json:"line"`
}

func main() {
	root := os.Args[1]
	items := []item{}
	fset := token.NewFileSet()
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case "vendor", "testdata", ".git", "node_modules":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		file, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return nil // compared only where Go's parser accepts the file
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		add := func(kind, name string, pos token.Pos) {
			items = append(items, item{rel, kind, name, fset.Position(pos).Line})
		}
		add("module", file.Name.Name, file.Package)
		for _, decl := range file.Decls {
			switch d := decl.(type) {
			case *ast.FuncDecl:
				if d.Recv != nil {
					add("method", d.Name.Name, d.Type.Func)
				} else {
					add("function", d.Name.Name, d.Type.Func)
				}
			case *ast.GenDecl:
				for _, spec := range d.Specs {
					switch s := spec.(type) {
					case *ast.TypeSpec:
						switch t := s.Type.(type) {
						case *ast.StructType:
							add("struct", s.Name.Name, s.Name.Pos())
						case *ast.InterfaceType:
							add("interface", s.Name.Name, s.Name.Pos())
							for _, m := range t.Methods.List {
								if _, ok := m.Type.(*ast.FuncType); ok {
									for _, n := range m.Names {
										add("method", n.Name, n.Pos())
									}
								}
							}
						default:
							if s.Assign.IsValid() {
								add("type_alias", s.Name.Name, s.Name.Pos())
							} else {
								add("type", s.Name.Name, s.Name.Pos())
							}
						}
					case *ast.ValueSpec:
						kind := "static"
						if d.Tok == token.CONST {
							kind = "constant"
						}
						for _, n := range s.Names {
							if n.Name != "_" {
								add(kind, n.Name, s.Pos())
							}
						}
					}
				}
			}
		}
		return nil
	})
	json.NewEncoder(os.Stdout).Encode(items)
}
