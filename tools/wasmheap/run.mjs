// Import heap on MicroPython's own WebAssembly port (@micropython/micropython-webassembly-pyscript,
// pinned in package.json here): a 32-bit MicroPython (4-byte pointers, as on ESP32 and RP2040).
// Driven by tools/wasmheap/__init__.py; run with node from this directory's node_modules.
//
// stdin: a JSON job {"mpy": dir, "romfs": image file, "runs": [{"source": "mpy" | "romfs",
// "modules": [name, ...]}, ...]}. Each run gets a fresh interpreter: for "mpy" the dir's
// tree is copied into its filesystem at /lib (on sys.path), for "romfs" the image is
// mounted (at /rom, /rom/lib on sys.path, modules executed in place). The modules are
// imported in order, each after gc.collect(), and gc.mem_alloc() taken after each.
// stdout: JSON {"version": sys.version, "runs": [{"modules": [[name, bytes], ...]}, ...]}.
// The heap grows on demand in this port, so the heap size does not limit the figures.
import { loadMicroPython } from "@micropython/micropython-webassembly-pyscript";
import fs from "fs";
import path from "path";

function copyTree(FS, src, dst) {
  FS.mkdirTree(dst);
  for (const e of fs.readdirSync(src, { withFileTypes: true })) {
    const s = path.join(src, e.name);
    if (e.isDirectory()) copyTree(FS, s, dst + "/" + e.name);
    else FS.writeFile(dst + "/" + e.name, fs.readFileSync(s));
  }
}

// A function, so the loop's names are locals and no dict grows inside the measured window.
const MEASURE = `
import gc
def _measure(names):
    gc.collect()
    prev = gc.mem_alloc()
    for name in names:
        __import__(name)
        gc.collect()
        now = gc.mem_alloc()
        print("MODULE", name, now - prev)
        prev = now
`;

const job = JSON.parse(fs.readFileSync(0, "utf8"));
const romfs = job.romfs ? fs.readFileSync(job.romfs) : undefined;
const out = { runs: [] };
for (const run of job.runs) {
  let text = "";
  const opts = { stdout: (s) => { text += s + "\n"; }, stderr: (s) => { text += s + "\n"; } };
  if (run.source === "romfs") opts.romfs = romfs;
  const mp = await loadMicroPython(opts);
  if (run.source === "mpy") copyTree(mp.FS, job.mpy, "/lib");
  if (out.version === undefined) {
    mp.runPython("import sys\nprint('VERSION', sys.version)");
  }
  mp.runPython(MEASURE);
  try {
    mp.runPython("_measure(" + JSON.stringify(run.modules) + ")");
  } catch (e) {
    process.stderr.write(run.source + " " + run.modules.join(",") + ": " + e + "\n" + text);
    process.exit(1);
  }
  const modules = [];
  for (const line of text.split("\n")) {
    const f = line.split(" ");
    if (f[0] === "VERSION") out.version = line.slice(8);
    else if (f[0] === "MODULE") modules.push([f[1], parseInt(f[2], 10)]);
  }
  out.runs.push({ modules });
}
process.stdout.write(JSON.stringify(out) + "\n");
