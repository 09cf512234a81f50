// The wizard's consent step (告知同意). A citizen taps 我已了解并同意 themselves. In agent mode (代办) the agent
// cannot consent for the resident: the screen asks the resident to take their own card off the reader and put
// it back, and only after that fresh read does it offer the resident's own 我本人已了解并同意 (the server
// checks the read: SubmitService.consent_state).
import { h, button, api, toast } from './ui.js';
import { render } from './app.js';
import { sayForScreen } from './voice.js';

const NOTICE = [
  '为办理本事项，需要把您的姓名、身份证号码、联系电话和上传的材料提交给政务服务平台。',
  '这些信息只用于办理本事项，本机不保存您的照片，办结确认后按规定删除本机副本。',
];

async function post(path, body) {
  const res = await api('POST', path, body);
  if (!res.ok) toast(res.data.message || '操作没有成功，请再试一次。');
  return res;
}

// While the screen waits for the resident's card, the read draws the step again.
document.addEventListener('kiosk:card', () => { if (document.getElementById('consent-wait')) render(); });

function noticeCard(d) {
  return h('div', { class: 'card' }, NOTICE.map((t) => h('p', {}, t)),
    d.channel === 'agent' ? h('p', {}, '本次由代办员代为填写，须由申请人本人确认同意。') : null);
}

async function consentTap(st) {
  const res = await post('/api/submit/details', { consent: true });
  if (res.ok) st.draft = res.data;
  render();
}

function given(d) {
  return h('p', { class: 'message', id: 'consent-given' }, '✔ 已同意',
    d.channel === 'agent' ? `（申请人 ${d.applicant} 本人确认）` : '');
}

// Returns the step's body; `next` is the wizard's 下一步 row builder (enabled once consent is given).
export async function consentStep(st, next) {
  let d = st.draft;
  if (d.channel !== 'agent') {
    return h('div', {}, h('h2', {}, '个人信息使用告知'), noticeCard(d),
      d.consent ? given(d) : h('div', { class: 'row' }, button('我已了解并同意', () => consentTap(st), 'primary big')),
      next(st, { enabled: d.consent }));
  }
  if (d.consent_state === 'ask_resident') {
    // Opening the step is the question: from now on only a new read of the resident's card counts.
    const res = await post('/api/submit/consent/ask', {});
    if (res.ok) st.draft = d = res.data;
  }
  let body;
  if (d.consent) {
    body = given(d);
  } else if (d.consent_state === 'resident_may_consent') {
    sayForScreen('consent');
    body = h('div', { class: 'card notice-ok', id: 'consent-resident' },
      h('p', { class: 'message' }, `✔ 已读到申请人 ${d.applicant} 的身份证。`),
      h('p', {}, '请申请人本人阅读上面的告知，同意后自己点下面的按钮。'),
      h('div', { class: 'row' }, button(`我本人（${d.applicant}）已了解并同意`, () => consentTap(st), 'primary big')));
  } else {
    sayForScreen('resident_consent');
    body = h('div', { class: 'card', id: 'consent-wait' },
      h('h3', {}, '请把屏幕交给申请人本人'),
      h('p', { class: 'message' }, `请申请人 ${d.applicant} 拿起自己的身份证，再放回读卡区。`),
      h('p', { class: 'muted' }, '读卡后由申请人本人点“同意”。代办员不能代替申请人同意。'));
  }
  return h('div', {}, h('h2', {}, '个人信息使用告知'), noticeCard(d), body, next(st, { enabled: d.consent }));
}
