// The pinyin input method's engine (拼音输入法): the dictionary file built by `kiosk assets build`
// (characters and words per syllable key, most frequent first), syllable segmentation of the tapped
// letters and the candidates for them. Pure functions over the loaded dictionary: no DOM here.
let loading = null;
let dict = null;        // key ("zhong" or "zhong'guo") → candidates, most frequent first
let syllables = null;   // every single syllable
let byFirst = null;     // first syllable → multi-syllable keys starting with it
let maxSyllable = 6;

export function parseDictionary(text) {
  const map = new Map();
  const first = new Map();
  const singles = new Set();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const tab = line.indexOf('\t');
    if (tab < 0) continue;
    const key = line.slice(0, tab);
    const rest = line.slice(tab + 1);
    if (key.includes("'")) {
      map.set(key, rest.split(' ').filter(Boolean));
      const head = key.slice(0, key.indexOf("'"));
      if (!first.has(head)) first.set(head, []);
      first.get(head).push(key);
    } else {
      map.set(key, [...rest]);
      singles.add(key);
    }
  }
  return { map, first, singles };
}

// Loads the dictionary once; resolves true when it is there, false when it is missing.
export function loadIme() {
  if (!loading) {
    loading = fetch('/static/gen/pinyin-ime.txt', { cache: 'force-cache' })
      .then((r) => (r.ok ? r.text() : Promise.reject(new Error(String(r.status)))))
      .then((text) => {
        const parsed = parseDictionary(text);
        dict = parsed.map; byFirst = parsed.first; syllables = parsed.singles;
        maxSyllable = Math.max(...[...syllables].map((s) => s.length));
        return syllables.size > 0;
      })
      .catch(() => { loading = null; return false; });
  }
  return loading;
}

export function imeReady() { return Boolean(dict && syllables && syllables.size); }

function isPrefixOfSyllable(part) {
  for (const s of syllables) if (s.startsWith(part)) return true;
  return false;
}

// Splits letters into syllables: the fewest, longest first; only the last may be an unfinished syllable
// (a prefix of one, e.g. "zh"). Returns {parts, partial} or null when the letters are no pinyin at all.
export function segment(letters) {
  const n = letters.length;
  const best = new Array(n + 1).fill(null);
  best[0] = [];
  for (let i = 0; i < n; i += 1) {
    if (!best[i]) continue;
    for (let len = Math.min(maxSyllable, n - i); len >= 1; len -= 1) {
      const part = letters.slice(i, i + len);
      if (!syllables.has(part)) continue;
      const cand = [...best[i], part];
      if (!best[i + len] || cand.length < best[i + len].length) best[i + len] = cand;
    }
  }
  if (best[n]) return { parts: best[n], partial: false };
  for (let i = n - 1; i >= 0; i -= 1) {  // the longest complete head, then an unfinished syllable
    if (best[i] && isPrefixOfSyllable(letters.slice(i))) return { parts: [...best[i], letters.slice(i)], partial: true };
  }
  return null;
}

// The letters split into initials (zh, ch, sh count as one), for abbreviations such as "gzry" → 工作人员.
function initials(letters) {
  const out = [];
  for (let i = 0; i < letters.length; i += 1) {
    const two = letters.slice(i, i + 2);
    if (['zh', 'ch', 'sh'].includes(two)) { out.push(two); i += 1; } else out.push(letters[i]);
  }
  return out;
}

// Candidates for the tapped letters, best first: [{text, used}] where `used` is how many letters the
// candidate stands for (choosing it leaves the rest of the letters to go on with).
export function candidates(letters, limit = 60) {
  if (!imeReady() || !letters) return [];
  const out = [];
  const seen = new Set();
  const add = (list, used) => {
    for (const text of list) {
      if (out.length >= limit) return;
      if (!seen.has(text)) { seen.add(text); out.push({ text, used }); }
    }
  };
  const seg = segment(letters);
  if (seg) {
    const { parts, partial } = seg;
    for (let k = parts.length; k >= 1; k -= 1) {
      const head = parts.slice(0, k);
      const used = head.join('').length;
      const unfinished = partial && k === parts.length;
      if (k === 1) {
        if (unfinished) {
          for (const s of [...syllables].filter((x) => x.startsWith(head[0])).sort()) add((dict.get(s) || []).slice(0, 4), used);
        } else add(dict.get(head[0]) || [], used);
      } else if (unfinished) {
        const done = head.slice(0, -1);
        const last = head[head.length - 1];
        const pool = [];
        for (const s of [...syllables].filter((x) => x.startsWith(last))) {
          pool.push(...(dict.get([...done, s].join("'")) || []));
        }
        add(pool, used);
      } else add(dict.get(head.join("'")) || [], used);
    }
  }
  const abbrev = initials(letters);
  if (abbrev.length >= 2 && byFirst) {
    const pool = [];  // [rank within its key, word]: each key's most frequent words first
    for (const [firstSyl, keys] of byFirst) {
      if (!firstSyl.startsWith(abbrev[0])) continue;
      for (const key of keys) {
        const syl = key.split("'");
        if (syl.length === abbrev.length && syl.every((s, i) => s.startsWith(abbrev[i]))) {
          dict.get(key).slice(0, 3).forEach((word, rank) => pool.push([rank, word]));
        }
      }
    }
    pool.sort((a, b) => a[0] - b[0]);
    add(pool.map((p) => p[1]), letters.length);
  }
  return out;
}
