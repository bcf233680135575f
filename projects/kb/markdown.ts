/**
 * Markdown as the knowledge base reads it: a file is cut into sections at its headings
 * (headings inside code fences do not count), each section knowing its heading, the headings
 * above it and the line it starts on; user entries may open with a YAML front matter block.
 */
import { parse as parseYaml } from 'yaml';

export interface Section {
  /** The heading's text; for text before the first heading, the file's title. */
  readonly heading: string;
  /** The headings above this one, outermost first. */
  readonly parents: readonly string[];
  /** 1-based line of the heading (or of the first line, for text before any heading). */
  readonly line: number;
  /** The text under the heading up to the next heading, HTML comments removed, blank edges trimmed. */
  readonly body: string;
  /** 1-based line where `body` starts. */
  readonly bodyLine: number;
}

const HEADING = /^(#{1,6})[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$/;
const FENCE = /^[ \t]{0,3}(```|~~~)/;

/** Inline Markdown reduced to its words: links keep their text, code spans their content. */
export function plainHeading(text: string): string {
  return (
    text
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
      .replace(/`/g, '')
      // Emphasis markers at word edges only: `mobilenet_v2_quant` keeps its underscores.
      .replace(/(^|[\s(])(\*{1,2}|_{1,2})(?=\S)/g, '$1')
      .replace(/(\S)(\*{1,2}|_{1,2})(?=$|[\s).,:;!?])/g, '$1')
      .trim()
  );
}

/** Sections of `text` that have a body; a heading with nothing under it lives on in its children's `parents`. */
export function splitSections(text: string, title: string, firstLine = 1): Section[] {
  const lines = text.replace(/<!--[\s\S]*?-->/g, (c) => '\n'.repeat(c.split('\n').length - 1)).split(/\r?\n/);
  const sections: Section[] = [];
  const stack: { level: number; heading: string }[] = [];
  // `start`: the line of body[0] (the preamble starts on the first line, a section after its heading).
  let current = { heading: title, parents: [] as string[], line: firstLine, start: firstLine, body: [] as string[] };
  let fence: string | null = null;
  const flush = (): void => {
    const lead = current.body.findIndex((l) => l.trim() !== '');
    if (lead < 0) return;
    const body = current.body.slice(lead).join('\n').trimEnd();
    const { heading, parents, line } = current;
    sections.push({ heading, parents, line, body, bodyLine: current.start + lead });
  };
  lines.forEach((line, i) => {
    const f = FENCE.exec(line);
    if (f) fence = fence === null ? f[1] : fence === f[1] ? null : fence;
    const h = fence === null && !f ? HEADING.exec(line) : null;
    if (!h) {
      current.body.push(line);
      return;
    }
    flush();
    const level = h[1].length;
    while (stack.length > 0 && stack[stack.length - 1].level >= level) stack.pop();
    const heading = plainHeading(h[2]);
    const at = firstLine + i;
    current = { heading, parents: stack.map((s) => s.heading), line: at, start: at + 1, body: [] };
    stack.push({ level, heading });
  });
  flush();
  return sections;
}

export interface FrontMatter {
  readonly data: Readonly<Record<string, unknown>>;
  readonly body: string;
  /** 1-based line where `body` starts in the file. */
  readonly bodyLine: number;
}

/**
 * A leading `---` YAML block and the text after it; no block gives empty data.
 * @throws Error naming `file` when the block is not closed or not a YAML mapping.
 */
export function readFrontMatter(text: string, file: string): FrontMatter {
  if (!/^---\r?\n/.test(text)) return { data: {}, body: text, bodyLine: 1 };
  const lines = text.split(/\r?\n/);
  const end = lines.findIndex((l, i) => i > 0 && /^(---|\.\.\.)\s*$/.test(l));
  if (end < 0) throw new Error(`${file}: the front matter opened by '---' on line 1 is never closed by a '---' line`);
  let data: unknown;
  try {
    data = parseYaml(lines.slice(1, end).join('\n')) ?? {};
  } catch (err) {
    throw new Error(`${file}: front matter is not valid YAML: ${(err as Error).message}`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new Error(`${file}: front matter must be a YAML mapping (title: …, tags: […])`);
  }
  return { data: data as Record<string, unknown>, body: lines.slice(end + 1).join('\n'), bodyLine: end + 2 };
}
