export { LEXICONS, type Lexicon } from './art9.js';
export {
  DOB_CONTEXT,
  ID_CONTEXT,
  INSTITUTION_WORDS,
  PASSPORT_CONTEXT,
  PASSWORD_WORDS,
  PHONE_CONTEXT,
  PHONE_CONTEXT_COUNTRIES,
} from './context.js';
