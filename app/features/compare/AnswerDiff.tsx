// A generated answer with its differences from another answer highlighted, word by word (the `diff` package's
// diffWords). Rendered as React text nodes inside <ins>/<del>: model output never becomes HTML.
import { diffWords } from 'diff';

export function AnswerDiff({ text, against }: { text: string; against: string | null }) {
  if (against === null) return <>{text}</>;
  const parts = diffWords(against, text);
  return (
    <>
      {parts.map((p, i) => (p.added
        ? <ins key={i} className="diff-add">{p.value}</ins>
        : p.removed
          ? <del key={i} className="diff-del">{p.value}</del>
          : <span key={i}>{p.value}</span>))}
    </>
  );
}
