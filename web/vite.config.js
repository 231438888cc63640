// The site builds to web/dist, which the Worker serves as static assets (wrangler.toml) and
// `doctown view` serves from disk.
import { defineConfig } from "vite";

export default defineConfig({
  build: { outDir: "dist", emptyOutDir: true, chunkSizeWarningLimit: 1024 },
});
