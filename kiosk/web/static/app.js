// The page's core: event stream with automatic reconnection, hash router, session countdown and the
// privacy reset. Every person-related value lives in App.state; a reset clears it, clears storage and
// reloads the page so that nothing of the previous person stays in the DOM or in JS memory.
import { h, button, clear, toast, hideToast, api } from './ui.js';
import { screens } from './screens.js';

export const App = {
  boot: null,           // server boot id: a different one after reconnecting = server restarted
  status: null,         // device status (no personal data)
  session: null,        // masked session view from the server
  state: {},            // per-person flow data: wiped at reset
  timeouts: { warn: 45, reset: 60 },
  lastActivity: Date.now(),
  idleAfter: 180,       // seconds without anyone before the idle screen (0 = never); from the server's hello
  connected: false,
  countdown: null,
};

export function resetPage(reason) {
  // Clear what could outlive a reload first, then reload: DOM, JS memory and image caches all go.
  try { sessionStorage.clear(); localStorage.clear(); } catch (e) { /* storage may be disabled */ }
  App.state = {};
  App.session = null;
  setWho();
  clear(document.getElementById('screen'));
  hideCountdown();
  hideToast();
  document.documentElement.classList.remove('large');
  // Reload only when the service answers: a reload against a stopped service would leave Chromium's
  // error page on the screen, with no script left to come back. Until then the page stays blank.
  fetch('/api/status', { cache: 'no-store' }).then((r) => {
    if (r.ok) location.replace('/' + (reason ? `?r=${encodeURIComponent(reason)}` : ''));
    else App.reloadWhenBack = true;
  }, () => { App.reloadWhenBack = true; });
}

export function go(name, param) {
  hideToast();  // a message belongs to the screen it was shown on
  const hash = `#/${name}${param ? '/' + encodeURIComponent(param) : ''}`;
  if (location.hash === hash) render(); else location.hash = hash;
}

function route() {
  const parts = location.hash.replace(/^#\/?/, '').split('/');
  return { name: parts[0] || 'home', param: parts[1] ? decodeURIComponent(parts[1]) : null };
}

export async function render() {
  const main = document.getElementById('screen');
  if (App.status && App.status.locked && route().name !== 'maint') {
    clear(main).append(screens.locked());
    return;
  }
  const { name, param } = route();
  const screen = screens[name] || screens.home;
  App.scanHandler = null;
  const node = await screen(param);
  clear(main).append(node);
  if (App.flash) { toast(App.flash, 'info'); App.flash = null; }
  main.focus({ preventScroll: true });
  window.scrollTo(0, 0);
}

// --- session ------------------------------------------------------------------------------------
let lastTouchSent = 0;
function userActivity() {
  App.lastActivity = Date.now();
  if (App.countdown) hideCountdown();
  const now = Date.now();
  if (now - lastTouchSent > 5000) {
    lastTouchSent = now;
    api('POST', '/api/session/touch', {});
  }
}

function showCountdown(secondsLeft) {
  const overlay = document.getElementById('overlay');
  let left = secondsLeft;
  const count = h('span', { class: 'count', 'aria-live': 'assertive' }, String(left));
  const dialog = h('div', { class: 'dialog', role: 'alertdialog', 'aria-label': '操作提醒' },
    h('h1', {}, '您还在办理吗？'),
    h('p', { class: 'message' }, '为保护您的信息，页面将在倒计时结束后自动返回首页，并清除刚才的内容。'),
    h('p', {}, count, ' 秒'),
    h('div', { class: 'row center' },
      button('继续办理', () => { lastTouchSent = 0; userActivity(); }, 'primary big'),
      button('结束并返回首页', () => endSession(), 'big')));
  clear(overlay).append(dialog);
  overlay.hidden = false;
  clearInterval(App.countdown);
  App.countdown = setInterval(() => {
    left = Math.max(0, left - 1);
    count.textContent = String(left);
  }, 1000);
}

function hideCountdown() {
  clearInterval(App.countdown);
  App.countdown = null;
  const overlay = document.getElementById('overlay');
  overlay.hidden = true;
  clear(overlay);
}

export async function endSession() {
  await api('POST', '/api/session/end', {});
  resetPage('finished');
}

function setWho() {
  const who = document.getElementById('who');
  const s = App.session;
  if (s && s.agent) who.textContent = `代办员 ${s.agent.name}（${s.agent.agent_id}）${s.card ? ' ｜ 群众：' + s.card.name : ''}`;
  else if (s && s.card) who.textContent = `已读身份证：${s.card.name}`;
  else who.textContent = '';
}

// --- status banners ---------------------------------------------------------------------------
function renderBanners() {
  const el = clear(document.getElementById('banners'));
  const st = App.status;
  if (!App.connected) {
    el.append(h('div', { class: 'banner' }, h('span', { class: 'icon', 'aria-hidden': 'true' }, '⟳'),
      '正在连接终端服务，请稍候……'));
  }
  if (!st) return;
  const blocks = st.blocks || {};
  if (blocks.notice && st.printer && st.printer.installed) {
    el.append(h('div', { class: 'banner bad' }, h('span', { class: 'icon', 'aria-hidden': 'true' }, '⚠'), blocks.notice));
  }
  if (blocks.card && st.idcard === 'missing') {
    el.append(h('div', { class: 'banner bad' }, h('span', { class: 'icon', 'aria-hidden': 'true' }, '⚠'), blocks.card));
  }
  if (st.online === false) {
    el.append(h('div', { class: 'banner' }, h('span', { class: 'icon', 'aria-hidden': 'true' }, '☁'),
      '暂时连不上政务服务平台：可以咨询、打印清单；提交的申请会先保存在本机，联网后自动上报。'));
  }
}

// --- event stream -----------------------------------------------------------------------------
let source = null;
let retryTimer = null;
let retryDelay = 1000;

function connect() {
  if (source) source.close();
  source = new EventSource('/api/events');
  source.addEventListener('hello', (e) => {
    const hello = JSON.parse(e.data);
    if (App.reloadWhenBack || (App.boot && App.boot !== hello.boot)) {
      // The service restarted: whatever session this page showed is gone on the server too.
      resetPage('restart');
      return;
    }
    const modeChanged = App.mode !== hello.mode;
    App.boot = hello.boot;
    App.mode = hello.mode;
    if (typeof hello.idle_after_s === 'number') App.idleAfter = hello.idle_after_s;
    App.connected = true;
    retryDelay = 1000;
    App.status = hello.status;
    applySession(hello.session);
    document.getElementById('site-name').textContent = hello.site_name || '政务服务自助终端';
    document.getElementById('idle-site').textContent = hello.site_name || '政务服务自助终端';
    document.getElementById('hotline').textContent = hello.hotline ? `服务热线 ${hello.hotline}` : '';
    renderBanners();
    if ((hello.status && hello.status.locked) || (modeChanged && hello.mode === 'village')) render();
  });
  const on = (type, fn) => source.addEventListener(type, (e) => fn(JSON.parse(e.data)));
  on('status', (ev) => {
    const before = App.status || {};
    App.status = ev.status;
    renderBanners();
    const readerChanged = before.idcard !== ev.status.idcard && document.getElementById('wait-card');
    if (Boolean(before.locked) !== Boolean(ev.status.locked) || readerChanged) render();
  });
  on('session.started', () => { App.lastActivity = Date.now(); });
  on('session.warning', (ev) => showCountdown(ev.seconds_left));
  on('session.resumed', () => hideCountdown());
  on('session.reset', (ev) => resetPage(ev.reason));
  on('card.present', (ev) => { applySession(ev.session); document.dispatchEvent(new CustomEvent('kiosk:card')); });
  on('card.removed', (ev) => {
    if (ev.session) applySession(ev.session);
    if (ev.ended) {
      App.state = {};
      const r = route().name;
      if (['mycases', 'submit', 'pickup', 'agent'].includes(r)) {
        App.flash = '身份证已取走，需要身份证的办理已结束。';
        go('home');
      } else {
        toast('身份证已取走，需要身份证的办理已结束。', 'info');
      }
    }
  });
  on('agent.login', (ev) => applySession(ev.session));
  on('card.released', (ev) => applySession(ev.session));
  on('scan', (ev) => document.dispatchEvent(new CustomEvent('kiosk:scan', { detail: ev })));
  on('case.update', (ev) => document.dispatchEvent(new CustomEvent('kiosk:case', { detail: ev })));
  on('catalog', () => { if (route().name === 'home') render(); });
  on('presence', () => wake());
  source.onerror = () => {
    App.connected = false;
    renderBanners();
    if (source.readyState === EventSource.CLOSED) {
      clearTimeout(retryTimer);
      retryTimer = setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 8000);
    }
  };
}

export function applySession(session) {
  App.session = session && session.active !== false ? session : null;
  if (session && session.warn_after_s) App.timeouts = { warn: session.warn_after_s, reset: session.reset_after_s };
  setWho();
}

// A scanned receipt code opens its progress page, unless the screen waits for a code itself
// (App.scanHandler, set by that screen and cleared at every render).
document.addEventListener('kiosk:scan', (e) => {
  const ev = e.detail;
  if (ev.kind !== 'receipt_code') { toast(ev.message || '这不是受理通知书上的二维码。'); return; }
  if (App.scanHandler) { App.scanHandler(ev.code); return; }
  App.state.query = { code: ev.code };
  go('case');
});

// --- idle screen ------------------------------------------------------------------------------
// With nobody at the terminal (no session, nothing on screen for a person) the page dims to a calm
// picture after App.idleAfter seconds; someone stepping up (IO board presence sensor) or a touch wakes it.
function idleScreen() { return document.getElementById('idle'); }

function maybeIdle(idleSeconds) {
  // A locked terminal keeps its "暂停服务" notice in view rather than inviting a touch.
  const locked = Boolean(App.status && App.status.locked);
  const nobody = !App.session && Object.keys(App.state).length === 0 && !App.countdown && !locked;
  if (App.idleAfter > 0 && nobody && idleSeconds >= App.idleAfter && idleScreen().hidden) {
    hideToast();
    idleScreen().hidden = false;
  }
}

export function wake() {
  App.lastActivity = Date.now();
  idleScreen().hidden = true;
}

// Local safety net: if the server cannot reach the page, the page still wipes itself.
setInterval(() => {
  const idle = (Date.now() - App.lastActivity) / 1000;
  const hasState = Object.keys(App.state).length > 0 || App.session;
  if (hasState && idle > App.timeouts.reset + 10) resetPage('timeout');
  maybeIdle(idle);
}, 1000);

function init() {
  for (const type of ['pointerdown', 'keydown']) document.addEventListener(type, userActivity, { capture: true });
  // The touch that wakes the idle screen only wakes it: it must not press what lies under the picture.
  idleScreen().addEventListener('click', (e) => { e.preventDefault(); e.stopPropagation(); wake(); });
  document.getElementById('btn-home').addEventListener('click', () => { App.state = {}; go('home'); });
  document.getElementById('btn-help').addEventListener('click', () => go('help'));
  const large = document.getElementById('btn-large');
  large.addEventListener('click', () => {
    const on = document.documentElement.classList.toggle('large');
    large.setAttribute('aria-pressed', String(on));
    large.lastChild.textContent = on ? ' 标准字号' : ' 大字模式';
  });
  // Technicians reach maintenance by tapping the emblem five times within three seconds.
  let taps = [];
  document.querySelector('.emblem').addEventListener('click', () => {
    const now = Date.now();
    taps = [...taps.filter((t) => now - t < 3000), now];
    if (taps.length >= 5) { taps = []; go('maint'); }
  });
  window.addEventListener('hashchange', render);
  if (location.search) history.replaceState(null, '', '/' + location.hash);
  connect();
  render();
}

init();
