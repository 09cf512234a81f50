// The catalog facts on an item's page (issue 11): time limits (0 days reads 即办), fees and their basis,
// 办理对象, 前置许可, 中介服务, where it is handled (the item's own window and floor; village items also at
// the village points), and the legal basis — the same facts the printed 一次性告知单 carries.
import { h } from './ui.js';

function factRow(label, value) {
  return h('div', { class: 'fact' }, h('dt', {}, label), h('dd', {}, value));
}

function listOrNone(values, none) {
  return values && values.length ? h('ul', {}, values.map((v) => h('li', {}, v))) : none;
}

// A tag after the item's title: an item handled on the spot needs no waiting.
export function instantTag(it) {
  return it.facts && it.facts.promised_text === '即办' ? h('span', { class: 'tag instant' }, '即办件') : null;
}

export function itemFacts(it) {
  const f = it.facts;
  const fees = it.fees.length ? it.fees.map((x) => `${x.name}：${x.amount_yuan} 元`).join('；') : '不收费';
  const instant = f.promised_text === '即办';
  const points = f.village_points || [];
  return h('div', { id: 'item-facts' },
    h('div', { class: 'card' },
      h('h3', {}, '办理须知'),
      h('dl', { class: 'facts' },
        factRow('办理时限', instant ? '即办（材料齐全，当场办结）' : `法定 ${f.statutory_text}，承诺 ${f.promised_text}`),
        factRow('收费', fees),
        factRow('收费依据', listOrNone(f.fee_basis, it.fees.length ? '见窗口公示' : '不收费，无收费依据')),
        factRow('办理对象', f.targets.length ? f.targets.join('、') : '不限'),
        factRow('前置许可', listOrNone(f.prerequisites, '无')),
        factRow('中介服务', listOrNone(f.intermediaries, '无')),
        factRow('办理地点', f.place),
        f.window_check ? factRow('原件核验', '网上申报后需带原件到窗口核验（先出预审回执，核验通过后受理）') : null,
        factRow('取件方式', it.pickup_methods.map((p) => p.label).join('、')),
        factRow('到现场次数', it.visits_required ? `最多 ${it.visits_required} 次` : '不用跑腿'))),
    f.village ? h('div', { class: 'card', id: 'village-points' },
      h('h3', {}, '也可以在村（社区）便民服务点办理'),
      points.length ? h('ul', {}, points.map((p) => h('li', {}, h('b', {}, p.name), `：${p.address} ｜ ${p.hours}`)))
        : h('p', {}, '请向所在村（社区）便民服务点咨询。')) : null,
    h('h3', {}, '设定依据'), listOrNone(f.legal_basis, h('p', {}, '—')));
}
