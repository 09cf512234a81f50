// The result of a submission, in the words of the paper it printed: 受理通知书 (central accepted: case
// number and promised date), 预审回执 (received, but originals are still checked at a window: no promised
// date yet) or 申请回执 (offline, 已提交，待平台确认). One card per case (a 一件事一次办 notice lists several),
// with the pickup place, what to bring, a reprint when the paper did not come out, and the evaluation.
import { h, button, api, toast, actions } from './ui.js';
import { App, go, render, endSession } from './app.js';
import { say } from './voice.js';
import { evaluateOffers } from './evaluate.js';

const HEADINGS = {
  accepted: '✔ 已提交，平台已受理',
  pre_review: '✔ 已提交，请到窗口核验原件',
  pending: '✔ 已提交，待平台确认',
};
const BRING_WHY = { paper: '原件交窗口', check: '已拍照，窗口核对原件' };

function caseBlock(c, stage) {
  return h('div', { class: 'notice-case', dataset: { stage: c.stage } },
    h('h3', {}, c.item_name, c.situation_name ? h('span', { class: 'muted' }, ` ｜ ${c.situation_name}`) : null),
    c.authority ? h('p', {}, h('b', {}, '受理机关：'), c.authority) : null,
    c.case_no ? h('p', {}, h('b', {}, '办件编号：'), c.case_no) : null,
    h('p', {}, h('b', {}, '查询码：'), h('span', { class: 'code' }, c.query_code_display)),
    c.stage === 'accepted'
      ? h('p', {}, h('b', {}, '承诺办结：'), c.promised_text || '以平台通知为准')
      : h('p', {}, h('b', {}, '承诺办结：'), stage === 'pending' ? '联网上报、平台受理后确定。' : '窗口核验原件、正式受理后确定（以受理通知书为准）。'),
    h('p', {}, h('b', {}, '领取方式：'), c.pickup.label, c.pickup.place ? ` ｜ ${c.pickup.place}` : ''));
}

function bringCard(r, n) {
  const bring = r.bring || [];
  if (!bring.length) return h('div', { class: 'card', id: 'bring' }, h('p', { class: 'message' }, '✔ 材料都已提交，不用再带原件。'));
  return h('div', { class: 'card', id: 'bring' }, h('h2', {}, '请带上这些原件到窗口：'),
    h('ul', {}, bring.map((b) => h('li', { class: 'message' }, `${b.name}（${b.form} ${b.copies} 份，${BRING_WHY[b.why] || '带原件'}）`))),
    h('p', {}, `同时带上${n.title}和申请人的身份证。`),
    n.stage === 'pre_review' ? h('p', {}, '窗口核对原件无误后才正式受理，受理后会打印受理通知书。') : null);
}

export function submitResult(r) {
  if (r.status === 'rejected') return h('div', { class: 'card' }, h('p', { class: 'message' }, '⚠ ', r.message));
  const n = r.notice;
  if (!n) {  // a fault after the commit: the cases are stored; the paper can be printed at the window
    return h('div', {}, h('div', { class: 'card notice-pending' }, h('h2', {}, '✔ 已提交'), h('p', { class: 'message' }, r.message)),
      actions(button('办完了，退出', () => endSession(), 'primary big')));
  }
  const stage = n.stage;
  const SPOKEN = { accepted: 'submitted', pre_review: 'submitted_pre_review', pending: 'submitted_pending' };
  // Nothing left to bring: the spoken words must not send the person to a window with originals.
  const spoken = stage === 'accepted' && !(r.bring || []).length ? 'submitted_all_sent' : SPOKEN[stage];
  say(r.printed ? (spoken || 'submitted') : 'error');
  const reprint = async (btn) => {
    btn.disabled = true;
    say('printing');
    const res = await api('POST', '/api/reprint', { code: n.query_code });
    btn.disabled = false;
    if (res.ok && res.data.printed) { toast(`${n.title}已打印，请取走。`, 'info'); say('take_notice'); r.printed = true; render(); }
    else toast(res.data.print_message || res.data.message || '还是没有打印出来，请联系工作人员。');
  };
  const finish = App.session && App.session.role === 'agent'
    ? [button('为下一位群众办理', async () => {
      await api('POST', '/api/session/release-card', {});
      App.state = {};
      App.history = [];
      go('agent', null, { push: false });
    }, 'primary big'), button('退出代办员登录', () => endSession(), 'big')]
    : [button('办完了，退出', () => endSession(), 'primary big')];
  return h('div', { id: 'result', dataset: { stage } },
    h('div', { class: `card ${stage === 'accepted' ? 'notice-ok' : 'notice-pending'}` },
      h('h2', {}, HEADINGS[stage] || '✔ 已提交'),
      h('p', { class: 'message' }, h('b', {}, `回执：${n.title}`), n.bundle_name ? ` ｜ 一件事：${n.bundle_name}` : ''),
      stage === 'pre_review' ? h('p', { class: 'message' }, '这是预审回执，不是受理通知书：还没有承诺办结日期。') : null,
      stage === 'pending' ? h('p', { class: 'message' }, '网络暂时不通，申请已经安全保存在本机，联网后会自动上报，不用重新提交。') : null,
      h('p', {}, h('b', {}, '申请人：'), n.applicant_masked, n.agent_masked ? ` ｜ 代办员：${n.agent_masked}` : ''),
      n.cases.length > 1   // 一件事一次办: one paper, the cases numbered as on it
        ? h('ol', { id: 'bundle-cases', class: 'bundle-cases' }, n.cases.map((c) => h('li', {}, caseBlock(c, stage))))
        : n.cases.map((c) => caseBlock(c, stage)),
      r.printed ? h('p', { class: 'message' }, `✔ ${n.title}已打印，请取走并妥善保管，扫描上面的二维码可以查询进度。`)
        : h('div', {}, h('p', { class: 'message' }, '⚠ ', r.print_message || `${n.title}没有打印出来。`),
          h('p', {}, '请记下上面的查询码，或让申请人放上身份证后补打。'),
          h('button', { type: 'button', class: 'btn primary big', onclick: (e) => reprint(e.currentTarget) }, `补打${n.title}`)),
      n.hotline ? h('p', { class: 'muted' }, `投诉、咨询热线 ${n.hotline}`) : null),
    bringCard(r, n),
    evaluateOffers(r.evaluation || []),
    actions(...finish));
}
