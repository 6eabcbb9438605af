// Renders untrusted model text as a small, safe subset of markdown: paragraphs, fenced code blocks,
// inline code, bold and bullet lists. Every piece of text goes into the page through textContent and
// createElement only, so nothing in it can become markup or script.

export function renderMarkdown(text, into) {
  into.replaceChildren();
  const lines = String(text ?? '').split('\n');
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (line.startsWith('```')) {
      const code = [];
      i++;
      while (i < lines.length && !lines[i].startsWith('```')) {
        code.push(lines[i]);
        i++;
      }
      i++;
      const pre = document.createElement('pre');
      const el = document.createElement('code');
      el.textContent = code.join('\n');
      pre.appendChild(el);
      into.appendChild(pre);
    } else if (/^\s*[-*] /.test(line)) {
      const list = document.createElement('ul');
      while (i < lines.length && /^\s*[-*] /.test(lines[i])) {
        const item = document.createElement('li');
        inline(lines[i].replace(/^\s*[-*] /, ''), item);
        list.appendChild(item);
        i++;
      }
      into.appendChild(list);
    } else if (line.trim() === '') {
      i++;
    } else {
      const paragraph = [];
      while (i < lines.length && lines[i].trim() !== '' && !lines[i].startsWith('```') && !/^\s*[-*] /.test(lines[i])) {
        paragraph.push(lines[i]);
        i++;
      }
      const p = document.createElement('p');
      inline(paragraph.join('\n'), p);
      into.appendChild(p);
    }
  }
}

// `code` and **bold** within a line; everything else is plain text (line breaks kept by CSS).
function inline(text, into) {
  const pattern = /(`[^`]+`|\*\*[^*]+\*\*)/g;
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    if (match.index > last) {
      into.appendChild(document.createTextNode(text.slice(last, match.index)));
    }
    const token = match[0];
    const el = document.createElement(token.startsWith('`') ? 'code' : 'strong');
    el.textContent = token.startsWith('`') ? token.slice(1, -1) : token.slice(2, -2);
    into.appendChild(el);
    last = match.index + token.length;
  }
  if (last < text.length) {
    into.appendChild(document.createTextNode(text.slice(last)));
  }
}
