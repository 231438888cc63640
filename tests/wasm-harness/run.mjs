// Runs the core's ingest compiled to wasm32-unknown-unknown on a directory's files and prints
// the events as JSON lines. Usage: node run.mjs HARNESS.wasm DIR
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

const [wasmPath, dir] = process.argv.slice(2);
const files = [];
(function walk(d) {
  for (const name of readdirSync(d).sort()) {
    const full = join(d, name);
    if (statSync(full).isDirectory()) walk(full);
    else files.push({ path: relative(dir, full).split(sep).join('/'), text: readFileSync(full, 'utf8') });
  }
})(dir);

const { instance } = await WebAssembly.instantiate(readFileSync(wasmPath), {});
const { memory, alloc, ingest_json, dealloc } = instance.exports;
const input = new TextEncoder().encode(JSON.stringify(files));
const ptr = alloc(input.length);
new Uint8Array(memory.buffer, ptr, input.length).set(input);
const result = ingest_json(ptr, input.length);
const outPtr = Number(result >> 32n);
const outLen = Number(result & 0xffffffffn);
process.stdout.write(new TextDecoder().decode(new Uint8Array(memory.buffer, outPtr, outLen)));
dealloc(outPtr, outLen);
