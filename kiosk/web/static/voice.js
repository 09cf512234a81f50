// Spoken prompts (语音提示): the words are always shown in the caption line above the bottom bar, and
// played as a clip generated at build time (kiosk assets build, Debian's espeak-ng) unless the person
// turned the sound off. A missing clip or a blocked audio device leaves the caption: nothing depends
// on the sound.
const LEVELS = [
  { label: '声音大', volume: 1.0, aria: '声音大（点一下调小）' },
  { label: '声音小', volume: 0.35, aria: '声音小（点一下关闭声音）' },
  { label: '静音', volume: 0, aria: '静音（点一下打开声音）' },
];
let level = 0;
let prompts = {};
let captionTimer = null;
let saidAt = 0;
// The screen (its address) whose own prompt the caption shows; null for a prompt of an event (a card
// read, a print), which may lead to the next screen and is left there for a moment.
let saidFor = null;
const audio = new Audio();
audio.preload = 'none';
// Which prompt the speaker last really played (tests and technicians read it from the caption's data).
audio.addEventListener('playing', () => {
  const caption = document.getElementById('voice-caption');
  if (caption) caption.dataset.spoken = audio.dataset.key || '';
});

export async function loadPrompts() {
  try {
    const res = await fetch('/static/voice-prompts.json', { cache: 'no-store' });
    if (res.ok) prompts = await res.json();
  } catch (e) { /* the page works without prompts */ }
}

export function promptText(key) { return prompts[key] || ''; }

function screenAddress() { return location.hash.replace(/^#\/?/, '') || 'home'; }

// Show the words and speak them. `key` names a prompt of voice-prompts.json.
export function say(key) { speak(key, null); }

// A screen's own prompt (what to do here): said once when the screen opens, not again each time a choice
// made on it draws it again (each material's 带原件到窗口 would repeat 请为每份材料选择提交方式); it goes as
// soon as another screen is shown.
let screenPrompt = null;   // { address, key } of the screen prompt last said, until another screen is shown
export function sayForScreen(key) {
  const address = screenAddress();
  if (screenPrompt && screenPrompt.address === address && screenPrompt.key === key) return;
  screenPrompt = { address, key };
  speak(key, address);
}

function speak(key, screen) {
  const text = prompts[key];
  if (!text) return;
  saidFor = screen;
  const caption = document.getElementById('voice-caption');
  caption.textContent = text;
  caption.hidden = false;
  caption.dataset.key = key;
  saidAt = Date.now();
  clearTimeout(captionTimer);
  captionTimer = setTimeout(() => { caption.hidden = true; }, 12000);
  const { volume } = LEVELS[level];
  audio.pause();
  if (volume === 0) return;
  audio.dataset.key = key;
  audio.src = `/static/gen/voice/${key}.wav`;
  audio.volume = volume;
  const played = audio.play();
  if (played && played.catch) played.catch(() => { /* no clip or no sound device: the caption stays */ });
}

// A new screen: a caption from an earlier one goes. An event's prompt said just now stays (身份证已读取
// leads to the next screen); a screen's own prompt never outlives its screen, however quickly the person
// moved on (查询办件进度's 请把受理通知书上的二维码… is not left under 取号排队).
export function clearOldCaption() {
  if (screenPrompt && screenPrompt.address !== screenAddress()) screenPrompt = null;   // another screen: said anew
  const screenLeft = saidFor !== null && saidFor !== screenAddress();
  if (!screenLeft && Date.now() - saidAt < 2500) return;
  if (screenLeft) audio.pause();    // nor is it still heard there
  saidFor = null;
  const caption = document.getElementById('voice-caption');
  if (caption) caption.hidden = true;
}

// The caption of `key` goes, if it is the one shown (an error toast closed: its 没有办成 goes with it).
export function withdraw(key) {
  const caption = document.getElementById('voice-caption');
  if (caption && !caption.hidden && caption.dataset.key === key) caption.hidden = true;
}

export function stopVoice() {
  audio.pause();
  screenPrompt = null;   // the next person hears each screen's prompt again
  saidFor = null;
  const caption = document.getElementById('voice-caption');
  if (caption) { caption.hidden = true; caption.textContent = ''; }
}

function showLevel(btn) {
  const l = LEVELS[level];
  btn.querySelector('.label').textContent = l.label;
  btn.setAttribute('aria-label', l.aria);
  btn.dataset.level = String(level);
}

// The header's sound button steps 大 → 小 → 静音 → 大.
export function initVoiceButton() {
  const btn = document.getElementById('btn-voice');
  showLevel(btn);
  btn.addEventListener('click', () => {
    level = (level + 1) % LEVELS.length;
    showLevel(btn);
    if (LEVELS[level].volume === 0) audio.pause(); else audio.volume = LEVELS[level].volume;
  });
}
