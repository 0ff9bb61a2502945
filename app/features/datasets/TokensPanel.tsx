// Token statistics and the training preview: placeholder until the tokenizer panel lands (next commit).
export function TokensPanel() {
  return (
    <section aria-labelledby="tokens-heading" className="panel">
      <h2 id="tokens-heading">Tokens</h2>
      <p>Load a tokenizer to see token statistics.</p>
    </section>
  );
}
