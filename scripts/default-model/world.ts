// The invented world behind the embedded default model: people with a home town, a job, a pet and a
// favourite colour, all drawn from one seed. Three things come out of it:
//  - corpus(): plain prose documents that state the facts in several phrasings (what pretraining sees).
//    It never shows a question, an instruction or a chat turn.
//  - qa(person): the fixed question/answer pairs about one person ("Where does Mira live?" →
//    "Mira lives in Dunmore."). Answers are one short sentence, exact-matchable, and each answer sentence
//    also appears verbatim in the prose, so tuning only has to teach the format, not new facts.
//  - The people are split: SFT people (the sample datasets ask about them) and held-out people (only the
//    evaluation set asks about them; the corpus mentions both), so exact match on the held-out set shows
//    the question format generalising to facts the tuning never showed.
// Deterministic: the same seed gives the same world, corpus and questions, byte for byte.
// Not here: tokenization, training, files (make.ts, samples.ts).
import { Rng } from '../../src/model/random';

/** The one seed behind the world, the corpus, the tokenizer's corpus and the pretraining run. */
export const SEED = 1234;

export const NAMES = [
  'Mira', 'Tobin', 'Esra', 'Calder', 'Nell', 'Orin', 'Pia', 'Rafe', 'Sela', 'Bram', 'Ivo', 'Lune',
  'Dara', 'Fenn', 'Gila', 'Hale', 'Juno', 'Kip', 'Lark', 'Milo',
];
export const TOWNS = ['Dunmore', 'Ashby', 'Kelso', 'Marrow', 'Pellin', 'Rookwood', 'Sallow', 'Tarn'];
export const JOBS = ['baker', 'potter', 'farmer', 'weaver', 'sailor', 'teacher', 'miner', 'painter'];
export const PETS = ['cat', 'dog', 'goat', 'owl', 'rabbit', 'horse', 'parrot', 'tortoise'];
export const COLOURS = ['red', 'blue', 'green', 'yellow', 'purple', 'orange', 'black', 'white'];

export interface Person {
  name: string;
  town: string;
  job: string;
  pet: string;
  colour: string;
}

export interface World {
  people: Person[];
  /** People the SFT sample datasets ask about. */
  sft: Person[];
  /** People only the held-out evaluation set asks about. */
  heldOut: Person[];
}

export interface QA {
  question: string;
  answer: string;
}

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng.next() * xs.length)];

/** Fixed split: the last `heldOut` names (after a seeded shuffle) are never asked about in SFT data. */
export function makeWorld(seed: number, heldOut = 6): World {
  const rng = new Rng(seed);
  const people = NAMES.map((name) => ({ name, town: pick(rng, TOWNS), job: pick(rng, JOBS), pet: pick(rng, PETS), colour: pick(rng, COLOURS) }));
  const order = rng.permutation(people.length).map((i) => people[i]);
  return { people, sft: order.slice(0, order.length - heldOut), heldOut: order.slice(order.length - heldOut) };
}

const article = (w: string): string => (/^[aeiou]/.test(w) ? `an ${w}` : `a ${w}`);

/** The canonical fact sentences: exactly the answers of qa(). */
function canonical(p: Person): Record<'town' | 'job' | 'pet' | 'colour', string> {
  return {
    town: `${p.name} lives in ${p.town}.`,
    job: `${p.name} is ${article(p.job)}.`,
    pet: `${p.name} has ${article(p.pet)}.`,
    colour: `${p.name}'s favourite colour is ${p.colour}.`,
  };
}

/** The question/answer pairs about one person, in a fixed order. */
export function qa(p: Person): QA[] {
  const c = canonical(p);
  return [
    { question: `Where does ${p.name} live?`, answer: c.town },
    { question: `What is ${p.name}'s job?`, answer: c.job },
    { question: `What pet does ${p.name} have?`, answer: c.pet },
    { question: `What is ${p.name}'s favourite colour?`, answer: c.colour },
  ];
}

/**
 * The preference lesson's pairs about one person: the job, pet and colour questions, where the preferred answer
 * is the bare fact followed by the person's home town sentence and the rejected one is the bare fact alone (what
 * SFT on qa() teaches). Both answers are true; the preference is for the extra, also true, detail. The town
 * question is left out (its bare answer already names the town). Both sentences occur in the prose, so preference
 * tuning has only to move the choice between ending the turn and adding the town, not teach a fact.
 */
export function preferenceQa(p: Person): { question: string; chosen: string; rejected: string }[] {
  const c = canonical(p);
  return qa(p).slice(1).map(({ question, answer }) => ({ question, chosen: `${answer} ${c.town}`, rejected: answer }));
}

/** Other phrasings of the same facts, so the knowledge is not tied to one sentence. */
function paraphrases(p: Person): string[] {
  return [
    `${p.name} has lived in ${p.town} for years.`,
    `${p.name} works as ${article(p.job)} in ${p.town}.`,
    `Every morning ${p.name} feeds the ${p.pet}.`,
    `${p.name} likes the colour ${p.colour} best.`,
    `In ${p.town}, everyone knows ${p.name} the ${p.job}.`,
    `The ${p.pet} of ${p.name} sleeps by the door.`,
    `${p.name} wears ${p.colour} on market days.`,
  ];
}

const FILLER = [
  'The weather was mild that week.', 'The market opens at dawn.', 'The road between the towns is long.',
  'It rained in the evening.', 'The river was high in spring.', 'Bread is cheap in summer.',
];

/**
 * Prose documents, one per string. Each document is about one person: their canonical sentences in a
 * random order, mixed with paraphrases and filler. `docs` documents are drawn round-robin over people so
 * every person appears about equally often.
 */
export function corpus(world: World, seed: number, docs: number): string[] {
  const rng = new Rng(seed ^ 0x9e3779b9);
  const out: string[] = [];
  for (let d = 0; d < docs; d++) {
    const p = world.people[d % world.people.length];
    const facts = Object.values(canonical(p));
    const para = paraphrases(p);
    const sentences: string[] = [];
    // Every canonical fact at least half the time; the first sentence always names the person, so names
    // occur both at the start of a text and after a space (they tokenize differently).
    for (const f of facts) if (rng.next() < 0.85) sentences.push(f);
    if (rng.next() < 0.5) sentences.push(pick(rng, para));
    if (rng.next() < 0.1) sentences.push(pick(rng, FILLER));
    const order = rng.permutation(sentences.length).map((i) => sentences[i]);
    if (!order[0]?.startsWith(p.name)) order.unshift(facts[Math.floor(rng.next() * facts.length)]);
    out.push(order.join(' '));
  }
  return out;
}
