// Render every post of a content folder once with @wenyan-md/core (its Node wrapper, as
// `wenyan render` does), and print how many.  Run from a folder whose node_modules has
// @wenyan-md/core and its peers (jsdom, formdata-node, form-data-encoder).
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";

const { prepareRenderContext } = await import("@wenyan-md/core/wrapper");

async function* posts(root, rel = "") {
  const entries = (await readdir(path.join(root, rel), { withFileTypes: true }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    if (entry.name.startsWith("_") || entry.name.startsWith(".")) continue;
    const child = path.join(rel, entry.name);
    if (entry.isDirectory()) yield* posts(root, child);
    else if (entry.name.endsWith(".md") && rel !== "") yield path.join(root, child);
  }
}

const root = path.resolve(process.argv[2]);
const options = { theme: "default", highlight: "solarized-light", macStyle: true, footnote: true, mermaid: false };
let count = 0;
let chars = 0;
for await (const file of posts(root)) {
  const read = async () => ({ content: await readFile(file, "utf-8"), absoluteDirPath: path.dirname(file) });
  const { gzhContent } = await prepareRenderContext(undefined, options, read);
  chars += gzhContent.content.length;
  count += 1;
}
console.log(JSON.stringify({ posts: count, chars }));
