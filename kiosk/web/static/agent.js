// The village agent's tools (代办员, issue 11): 本村办件 — every case of the agent's village points as
// central lists it (all agents, all terminals), or this terminal's own record when central is away — with
// 催办 / 投诉 / 撤回 / 补正 for their residents; and the green channel (绿色通道, 一号多件) on the ticket
// screen, offered only to an agent central registered for it, after their card and PIN, within the number
// of cases central allows.
import { h, button, api, formatAge } from './ui.js';
import { App, render } from './app.js';
import { title, errorBox, caseCard } from './screens.js';
import { caseTools } from './casework.js';

function pointsLine(d) {
  if (d.source !== 'central') {
    return h('div', { class: 'banner stale' }, h('span', { class: 'icon', 'aria-hidden': 'true' }, '☁'),
      d.message || '暂时连不上平台，只列出在本机代办的办件。');
  }
  const names = (d.points || []).map((p) => p.name);
  return h('p', { class: 'message' }, '来自政务服务平台：',
    h('b', {}, names.length ? names.join('、') : (d.village_points || []).join('、')),
    ' 的全部办件（所有代办员、所有终端）。');
}

function caseMeta(c) {
  const mine = App.session && App.session.agent && c.agent_id === App.session.agent.agent_id;
  const parts = [c.agent_id ? `代办员 ${c.agent_id}${mine ? '（本人）' : ''}` : '', c.cached ? `${formatAge(c.age_s)}的记录` : ''];
  return parts.some(Boolean) ? h('p', { class: 'muted' }, parts.filter(Boolean).join(' ｜ ')) : null;
}

async function agentcases() {
  const res = await api('GET', '/api/agent/cases');
  if (!res.ok) return h('div', {}, title('本村办件'), errorBox(res));
  const d = res.data;
  return h('div', { id: 'village-cases' }, title('本村办件', `共 ${d.cases.length} 件`), pointsLine(d),
    d.cases.length ? d.cases.map((c) => (c.case
      ? caseCard(c.case, [caseMeta(c), caseTools(c.case, c.query_code, { full: true })])
      : h('div', { class: 'card' }, h('h2', {}, c.item_name),
        h('p', {}, `${c.applicant_masked} ｜ 查询码 ${c.query_code_display} ｜ 暂无进度信息`))))
      : h('p', { class: 'message' }, '还没有代办的办件。'));
}

// The green channel's part of the ticket screen; null for everyone central did not register for it.
export async function greenChannel(st) {
  const res = await api('GET', '/api/queue/options');
  const green = res.ok ? res.data.green : null;
  if (!green || !green.offered) { st.green = false; return null; }
  const max = green.max_cases;
  if (st.green && st.cases < 2) st.cases = 2;
  const set = (n) => { st.cases = Math.max(2, Math.min(max, n)); render(); };
  return h('div', { class: 'card', id: 'green-channel' },
    h('h2', {}, '绿色通道（一号多件）'),
    h('p', {}, `平台已为您登记绿色通道：一个号可以办理 2 到 ${max} 件业务。`),
    h('div', { class: 'row' },
      button('使用绿色通道', () => { st.green = !st.green; if (st.green) set(st.cases); else render(); },
        st.green ? 'selected' : '', { 'aria-pressed': String(Boolean(st.green)) })),
    st.green ? h('div', { class: 'count-pad gap-top' }, h('span', {}, '办理件数：'),
      button('－', () => set(st.cases - 1), '', { 'aria-label': '减少一件', disabled: st.cases <= 2 }),
      h('b', { class: 'code', 'aria-live': 'polite' }, String(st.cases)),
      button('＋', () => set(st.cases + 1), '', { 'aria-label': '增加一件', disabled: st.cases >= max }),
      h('span', { class: 'muted' }, `（最多 ${max} 件）`)) : null);
}

export const agentScreens = { agentcases };
