/**
 * Detector quality and speed. Quality: precision/recall/F1 per type and language, record-level F1, span
 * recall and hard-negative false positives on the labelled corpus (dev and test splits). Speed: texts/s
 * on typical ~150-character CRM notes on one core. Writes bench-results/detector.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { detect } from '@custodian/core';
import { loadCorpus, score } from '../../packages/core/test/support/detector-score.js';

const corpus = loadCorpus();
const holdout = loadCorpus('holdout');
const quality = {
  holdout: score(holdout),
  test: score(corpus.filter((r) => r.split === 'test')),
  dev: score(corpus.filter((r) => r.split === 'dev')),
  all: score(corpus),
};

const notes = [
  'Met at the trade fair in Berlin, interested in the premium plan for 120 seats; asked us to call back next quarter about pricing and the SSO add-on.',
  'Order 4521-8890-1123 shipped on Monday, invoice INV-2024-0042 paid in full. Customer happy with delivery, wants a demo of v2.4.1 for the ops team.',
  'Kunde möchte ein Angebot für 25 Lizenzen, Termin am 12.03.2026 um 10 Uhr, Ansprechpartner ist die IT-Leitung; Rabatt von 8 % wurde bereits zugesagt.',
  'Le client souhaite un devis pour 40 postes, rappeler après les vacances, budget validé par la direction; envoyer la grille tarifaire 2026 et la démo.',
  'Customer paid by card 4111 1111 1111 1111 and mentioned she is pregnant; follow up in May about the renewal and send the updated contract to legal.',
  '客户对高级版感兴趣，下季度再联系，报价单号Q-2024-0098已发送，请跟进合同签署。对方采购部希望在三月底前完成审批，并要求提供本地化部署方案和培训计划，预算约二十万元。',
  'Hon ringde om fakturan 2024-118, vill byta till årsbetalning och lägga till tre användare; skicka offert före fredag och boka uppföljning i april.',
  'Klients vēlas piedāvājumu 15 licencēm, tikšanās nākamnedēļ Rīgā; pasūtījums Nr. 88-1204 jau apmaksāts, jānosūta līguma grozījumi juristiem.',
];
const typical = Array.from({ length: 1000 }, (_, i) => notes[i % notes.length]!);
for (let i = 0; i < 2000; i++) detect(typical[i % typical.length]!);
let n = 0;
const started = performance.now();
while (performance.now() - started < 5000) {
  detect(typical[n % typical.length]!);
  n++;
}
const textsPerSecond = Math.round(n / ((performance.now() - started) / 1000));
const avgChars = Math.round(notes.reduce((s, t) => s + t.length, 0) / notes.length);

const result = {
  bench: 'detector',
  at: new Date().toISOString(),
  corpus: {
    texts: corpus.length,
    hardNegatives: corpus.filter((r) => r.negative).length,
    languages: [...new Set(corpus.map((r) => r.lang))],
  },
  targets: { recordF1: 0.9, spanRecall: 0.85, hardNegativeFpRate: 0.05, textsPerSecond: 50_000 },
  quality,
  speed: { textsPerSecond, avgChars },
};
mkdirSync('bench-results', { recursive: true });
writeFileSync('bench-results/detector.json', JSON.stringify(result, null, 2));
const q = quality.test;
process.stdout.write(
  `detector (test split, ${q.texts} texts): record F1 ${q.recordLevel.f1}, span recall ${q.spanRecall}, hard-negative FP ${(q.hardNegativeFpRate * 100).toFixed(1)}%\n` +
    `per type F1: ${Object.entries(q.byType)
      .map(([k, v]) => `${k} ${v.f1}`)
      .join(', ')}\n` +
    `per language F1: ${Object.entries(q.byLanguage)
      .map(([k, v]) => `${k} ${v.f1}`)
      .join(', ')}\n` +
    `holdout (${quality.holdout.texts} hand-written texts): record F1 ${quality.holdout.recordLevel.f1}, span recall ${quality.holdout.spanRecall}, hard-negative FP ${(quality.holdout.hardNegativeFpRate * 100).toFixed(1)}%\n` +
    `speed: ${textsPerSecond.toLocaleString('en')} texts/s (${avgChars} chars avg)\n`,
);
