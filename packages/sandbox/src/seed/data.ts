/**
 * Static vocabularies for the synthetic world: names, cities, streets and phone plans per country,
 * and note templates per language. Everything here is invented; numbers planted in notes are
 * generated with valid checksums in checksums.ts so detectors have something real to find.
 */

export interface CountryData {
  code: string;
  firstNames: string[];
  lastNames: string[];
  cities: { name: string; postal: (r: () => number) => string }[];
  streets: string[];
  /** Country calling code and a national-number generator that libphonenumber accepts as valid. */
  callingCode: string;
  /** Mobile prefix + how many random digits follow it. */
  mobile: { prefix: string[]; digits: number };
  lang: string;
}

const digits = (n: number, r: () => number): string => {
  let s = '';
  for (let i = 0; i < n; i++) s += Math.floor(r() * 10).toString();
  return s;
};

const postalDigits =
  (n: number, first = '') =>
  (r: () => number) =>
    first + digits(n - first.length, r);

export const COUNTRIES: CountryData[] = [
  {
    code: 'US',
    lang: 'en',
    firstNames: [
      'James',
      'Mary',
      'Robert',
      'Patricia',
      'John',
      'Jennifer',
      'Michael',
      'Linda',
      'David',
      'Emily',
      'Daniel',
      'Ashley',
    ],
    lastNames: [
      'Smith',
      'Johnson',
      'Williams',
      'Brown',
      'Jones',
      'Garcia',
      'Miller',
      'Davis',
      'Wilson',
      'Anderson',
      'Taylor',
      'Moore',
    ],
    cities: [
      { name: 'New York', postal: postalDigits(5, '100') },
      { name: 'Chicago', postal: postalDigits(5, '606') },
      { name: 'Seattle', postal: postalDigits(5, '981') },
      { name: 'Boston', postal: postalDigits(5, '021') },
      { name: 'Austin', postal: postalDigits(5, '787') },
    ],
    streets: ['Maple Avenue', 'Oak Street', 'Main Street', 'Pine Road', 'Cedar Lane', 'Elm Drive'],
    callingCode: '1',
    // Real area codes; exchange 2xx-9xx, never N11.
    mobile: { prefix: ['212', '312', '206', '617', '512', '415'], digits: 7 },
  },
  {
    code: 'GB',
    lang: 'en',
    firstNames: ['Oliver', 'Amelia', 'George', 'Isla', 'Harry', 'Ava', 'Jack', 'Olivia', 'Charlie', 'Freya'],
    lastNames: ['Clarke', 'Walker', 'Wright', 'Hughes', 'Edwards', 'Green', 'Hall', 'Wood', 'Turner', 'Hill'],
    cities: [
      { name: 'London', postal: (r) => `SW1A ${digits(1, r)}AA` },
      { name: 'Manchester', postal: (r) => `M${digits(1, r)} ${digits(1, r)}AB` },
      { name: 'Leeds', postal: (r) => `LS${digits(1, r)} ${digits(1, r)}UT` },
      { name: 'Bristol', postal: (r) => `BS${digits(1, r)} ${digits(1, r)}TH` },
    ],
    streets: ['High Street', 'Station Road', 'Church Lane', 'Victoria Road', 'Park Avenue'],
    callingCode: '44',
    mobile: { prefix: ['740', '741', '742', '751', '780', '781'], digits: 7 },
  },
  {
    code: 'DE',
    lang: 'de',
    firstNames: [
      'Lukas',
      'Anna',
      'Jonas',
      'Lea',
      'Felix',
      'Hannah',
      'Maximilian',
      'Sophie',
      'Paul',
      'Marie',
      'Jürgen',
      'Ümran',
    ],
    lastNames: [
      'Müller',
      'Schmidt',
      'Schneider',
      'Fischer',
      'Weber',
      'Meyer',
      'Wagner',
      'Becker',
      'Schulz',
      'Hoffmann',
    ],
    cities: [
      { name: 'Berlin', postal: postalDigits(5, '10') },
      { name: 'München', postal: postalDigits(5, '80') },
      { name: 'Hamburg', postal: postalDigits(5, '20') },
      { name: 'Köln', postal: postalDigits(5, '50') },
    ],
    streets: ['Hauptstraße', 'Schulstraße', 'Gartenweg', 'Bahnhofstraße', 'Lindenallee'],
    callingCode: '49',
    mobile: { prefix: ['151', '160', '170', '176'], digits: 8 },
  },
  {
    code: 'FR',
    lang: 'fr',
    firstNames: ['Gabriel', 'Léa', 'Louis', 'Chloé', 'Raphaël', 'Manon', 'Jules', 'Camille', 'Hugo', 'Inès'],
    lastNames: ['Martin', 'Bernard', 'Dubois', 'Thomas', 'Robert', 'Richard', 'Petit', 'Durand', 'Leroy', 'Moreau'],
    cities: [
      { name: 'Paris', postal: postalDigits(5, '750') },
      { name: 'Lyon', postal: postalDigits(5, '690') },
      { name: 'Marseille', postal: postalDigits(5, '130') },
      { name: 'Toulouse', postal: postalDigits(5, '310') },
    ],
    streets: ['Rue de la Paix', 'Avenue Victor Hugo', 'Boulevard Voltaire', 'Rue des Lilas', 'Place de la République'],
    callingCode: '33',
    mobile: { prefix: ['61', '62', '64', '65', '66', '67', '68', '75', '76', '77', '78'], digits: 7 },
  },
  {
    code: 'ES',
    lang: 'es',
    firstNames: ['Hugo', 'Lucía', 'Martín', 'Sofía', 'Mateo', 'María', 'Pablo', 'Paula', 'Álvaro', 'Carmen'],
    lastNames: [
      'García',
      'Fernández',
      'González',
      'Rodríguez',
      'López',
      'Martínez',
      'Sánchez',
      'Pérez',
      'Gómez',
      'Ruiz',
    ],
    cities: [
      { name: 'Madrid', postal: postalDigits(5, '280') },
      { name: 'Barcelona', postal: postalDigits(5, '080') },
      { name: 'Valencia', postal: postalDigits(5, '460') },
      { name: 'Sevilla', postal: postalDigits(5, '410') },
    ],
    streets: ['Calle Mayor', 'Calle de Alcalá', 'Avenida de la Constitución', 'Calle del Sol', 'Paseo del Prado'],
    callingCode: '34',
    mobile: { prefix: ['6'], digits: 8 },
  },
  {
    code: 'SE',
    lang: 'sv',
    firstNames: ['William', 'Alice', 'Liam', 'Maja', 'Elias', 'Vera', 'Noah', 'Ebba', 'Hugo', 'Astrid'],
    lastNames: [
      'Andersson',
      'Johansson',
      'Karlsson',
      'Nilsson',
      'Eriksson',
      'Larsson',
      'Olsson',
      'Persson',
      'Svensson',
      'Lindström',
    ],
    cities: [
      { name: 'Stockholm', postal: (r) => `1${digits(2, r)} ${digits(2, r)}` },
      { name: 'Göteborg', postal: (r) => `4${digits(2, r)} ${digits(2, r)}` },
      { name: 'Malmö', postal: (r) => `2${digits(2, r)} ${digits(2, r)}` },
      { name: 'Uppsala', postal: (r) => `75${digits(1, r)} ${digits(2, r)}` },
    ],
    streets: ['Storgatan', 'Drottninggatan', 'Kungsgatan', 'Skolgatan', 'Järnvägsgatan'],
    callingCode: '46',
    mobile: { prefix: ['70', '72', '73', '76'], digits: 7 },
  },
  {
    code: 'LV',
    lang: 'lv',
    firstNames: ['Jānis', 'Anna', 'Andris', 'Līga', 'Mārtiņš', 'Ilze', 'Kārlis', 'Inese', 'Edgars', 'Kristīne'],
    lastNames: [
      'Bērziņš',
      'Kalniņš',
      'Ozoliņš',
      'Jansons',
      'Liepiņš',
      'Krūmiņš',
      'Balodis',
      'Zariņš',
      'Pētersons',
      'Vītols',
    ],
    cities: [
      { name: 'Rīga', postal: (r) => `LV-10${digits(2, r)}` },
      { name: 'Daugavpils', postal: (r) => `LV-54${digits(2, r)}` },
      { name: 'Liepāja', postal: (r) => `LV-34${digits(2, r)}` },
    ],
    streets: ['Brīvības iela', 'Elizabetes iela', 'Krišjāņa Barona iela', 'Tērbatas iela'],
    callingCode: '371',
    mobile: { prefix: ['20', '26', '27', '28', '29'], digits: 6 },
  },
  {
    code: 'CN',
    lang: 'zh',
    firstNames: ['Wei', 'Fang', 'Jing', 'Lei', 'Min', 'Yang', 'Xiu', 'Hao', 'Li', 'Jun'],
    lastNames: ['Wang', 'Li', 'Zhang', 'Liu', 'Chen', 'Yang', 'Huang', 'Zhao', 'Wu', 'Zhou'],
    cities: [
      { name: 'Shanghai', postal: postalDigits(6, '200') },
      { name: 'Beijing', postal: postalDigits(6, '100') },
      { name: 'Shenzhen', postal: postalDigits(6, '518') },
      { name: 'Chengdu', postal: postalDigits(6, '610') },
    ],
    streets: ['Nanjing Road', 'Huaihai Road', 'Chang’an Avenue', 'Renmin Road'],
    callingCode: '86',
    mobile: { prefix: ['138', '139', '186', '150'], digits: 8 },
  },
];

/** Rough population share per country (sums to 1). */
export const COUNTRY_WEIGHTS = [0.3, 0.15, 0.15, 0.1, 0.1, 0.07, 0.05, 0.08];

export const COMPANY_STEMS = [
  'Nordwind',
  'Bluepeak',
  'Aster',
  'Cobalt',
  'Lumen',
  'Ferro',
  'Orchid',
  'Vantage',
  'Kestrel',
  'Helix',
  'Solace',
  'Tundra',
];
export const COMPANY_SUFFIX: Record<string, string[]> = {
  US: ['Inc.', 'LLC', 'Corp.'],
  GB: ['Ltd', 'plc'],
  DE: ['GmbH', 'AG'],
  FR: ['SARL', 'SA'],
  ES: ['S.L.', 'S.A.'],
  SE: ['AB'],
  LV: ['SIA', 'AS'],
  CN: ['Co., Ltd.'],
};
export const JOB_TITLES = [
  'Account Manager',
  'CTO',
  'Buyer',
  'Office Manager',
  'Engineer',
  'Marketing Lead',
  'CFO',
  'Consultant',
];

export type NoteLang = 'en' | 'de' | 'fr' | 'es' | 'sv' | 'lv' | 'zh';
export const NOTE_LANGS: NoteLang[] = ['en', 'de', 'fr', 'es', 'sv', 'lv', 'zh'];

/** Clean notes: business chatter with look-alikes ({order}, {invoice}) that are NOT sensitive. */
export const CLEAN_NOTES: Record<NoteLang, string[]> = {
  en: [
    'Called about order {order}; delivery next week.',
    'Sent invoice {invoice}, payment terms 30 days.',
    'Met at the trade fair, interested in the premium plan.',
  ],
  de: [
    'Rückruf wegen Bestellung {order}, Lieferung nächste Woche.',
    'Rechnung {invoice} verschickt, Zahlungsziel 30 Tage.',
    'Auf der Messe getroffen, Interesse am Premium-Paket.',
  ],
  fr: [
    'Appel au sujet de la commande {order}, livraison la semaine prochaine.',
    'Facture {invoice} envoyée, paiement à 30 jours.',
    'Rencontré au salon, intéressé par l’offre premium.',
  ],
  es: [
    'Llamada sobre el pedido {order}, entrega la próxima semana.',
    'Factura {invoice} enviada, pago a 30 días.',
    'Nos conocimos en la feria, interesado en el plan premium.',
  ],
  sv: [
    'Ringde om order {order}, leverans nästa vecka.',
    'Skickade faktura {invoice}, betalning inom 30 dagar.',
    'Träffades på mässan, intresserad av premiumpaketet.',
  ],
  lv: [
    'Zvanīja par pasūtījumu {order}, piegāde nākamnedēļ.',
    'Nosūtīts rēķins {invoice}, apmaksa 30 dienu laikā.',
    'Satikāmies izstādē, interesē premium plāns.',
  ],
  zh: [
    '关于订单 {order} 的电话，下周交货。',
    '已发送发票 {invoice}，付款期限30天。',
    '在展会上认识，对高级套餐感兴趣。',
  ],
};

/** Sensitive templates per planted kind; `{value}` is replaced by a generated value with a valid checksum. */
export const SENSITIVE_NOTES: Record<
  'card' | 'iban' | 'national_id' | 'health' | 'password',
  Record<NoteLang, string>
> = {
  card: {
    en: 'Customer read out card number {value} over the phone for the renewal.',
    de: 'Kunde hat Kartennummer {value} am Telefon durchgegeben.',
    fr: 'Le client a donné son numéro de carte {value} par téléphone.',
    es: 'El cliente dictó su número de tarjeta {value} por teléfono.',
    sv: 'Kunden läste upp kortnummer {value} i telefon.',
    lv: 'Klients pa telefonu nosauca kartes numuru {value}.',
    zh: '客户在电话中提供了银行卡号 {value}。',
  },
  iban: {
    en: 'Refund to IBAN {value} please.',
    de: 'Bitte Erstattung auf IBAN {value}.',
    fr: 'Merci de rembourser sur l’IBAN {value}.',
    es: 'Reembolso al IBAN {value}, por favor.',
    sv: 'Återbetalning till IBAN {value}.',
    lv: 'Lūdzu atmaksāt uz IBAN {value}.',
    zh: '请退款至IBAN {value}。',
  },
  national_id: {
    en: 'ID for the contract: {value}.',
    de: 'Ausweisnummer für den Vertrag: {value}.',
    fr: 'Numéro d’identité pour le contrat : {value}.',
    es: 'DNI para el contrato: {value}.',
    sv: 'Personnummer för avtalet: {value}.',
    lv: 'Personas kods līgumam: {value}.',
    zh: '合同用身份证号：{value}。',
  },
  health: {
    en: 'Postponed the meeting: she is undergoing chemotherapy for breast cancer.',
    de: 'Termin verschoben, er hat Diabetes und war im Krankenhaus.',
    fr: 'Rendez-vous reporté : il suit un traitement pour une dépression.',
    es: 'Reunión aplazada: está en tratamiento de quimioterapia.',
    sv: 'Mötet flyttat, hon är sjukskriven för depression.',
    lv: 'Tikšanās pārcelta, viņam ir diabēts un viņš ir slimnīcā.',
    zh: '会议推迟：她正在接受乳腺癌化疗。',
  },
  password: {
    en: 'Portal login: password: {value}',
    de: 'Portal-Zugang: Passwort: {value}',
    fr: 'Accès portail : mot de passe : {value}',
    es: 'Acceso al portal: contraseña: {value}',
    sv: 'Portalinloggning: lösenord: {value}',
    lv: 'Portāla piekļuve: parole: {value}',
    zh: '门户登录密码：{value}',
  },
};
