// 一件事一次办 (bundles of related items, issue 11): choose the bundle, then the submission wizard runs
// once for all its items — a document two items ask for is handed in once (merged materials) — and one
// notice lists every case with its own query code. The wizard itself is submit.js; these are its
// bundle parts.
import { h, button, api } from './ui.js';
import { App, go } from './app.js';
import { title, errorBox } from './screens.js';

export async function hasBundles() {
  const res = await api('GET', '/api/bundles');
  return res.ok && res.data.bundles.some((b) => b.complete);
}

async function bundles() {
  const res = await api('GET', '/api/bundles');
  if (!res.ok) return h('div', {}, title('一件事一次办'), errorBox(res));
  const isAgent = App.session && App.session.role === 'agent';
  const list = res.data.bundles;
  const start = (b) => {
    App.state.submit = { bundle: b.code, item: b.items[0].code, situation: b.items[0].situation, step: 1 };
    go('submit');
  };
  return h('div', { id: 'bundles' }, title('一件事一次办', '几件相关的事一次申请：材料只交一次，一张通知书列出每件事'),
    list.length ? list.map((b) => h('div', { class: 'card', dataset: { bundle: b.code } },
      h('h2', {}, b.name), b.description ? h('p', {}, b.description) : null,
      h('p', {}, h('b', {}, `包含 ${b.items.length} 个事项：`)),
      h('ol', { class: 'bundle-items' }, b.items.map((i) => h('li', {}, i.name, i.situation_name ? `（${i.situation_name}）` : ''))),
      b.complete ? h('div', { class: 'row gap-top' }, button(isAgent ? `为群众代办：${b.name}` : `办理：${b.name}`, () => start(b), 'primary big'))
        : h('p', { class: 'message' }, '⚠ 这件事暂时不能在终端办理，请到窗口咨询。')))
      : h('p', { class: 'message' }, '本终端暂时没有可以一次办理的“一件事”。'));
}

// The wizard's line under its steps for a bundle: its name and items (null for a single item).
export function bundleLine(draft) {
  if (!draft || !draft.bundle) return null;
  return h('div', { class: 'card', id: 'bundle-line' }, h('p', {}, h('b', {}, draft.bundle.name), ` ｜ 申请人：${draft.applicant}`),
    h('ol', { class: 'bundle-items' }, draft.items.map((i) => h('li', {}, `${i.name}（${i.situation.name}）`))));
}

// Which of the bundle's items a merged material serves.
export function forItems(draft, m) {
  if (!draft || !draft.bundle || !m.for_items || !m.for_items.length) return null;
  return h('p', { class: 'for-items' }, m.for_items.length > 1 ? `一份材料，${m.for_items.length} 个事项共用：` : '用于：',
    m.for_items.join('、'));
}

export const bundleScreens = { bundles };
