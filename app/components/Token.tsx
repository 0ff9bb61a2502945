// One token as training sees it, coloured by whether the loss counts it (.token-preview in styles.css): the Data
// step's training preview and the preference panel's mask preview. Token text is rendered as text.
import type { PreviewToken } from '../../src/data/tokens';

export function Token({ t }: { t: PreviewToken }) {
  const cls = `tok ${t.target ? 'target' : 'context'}${t.cut ? ' cut' : ''}`;
  return <span className={cls} title={`#${t.id}${t.target ? ' · trained' : ''}${t.cut ? ' · cut' : ''}`}>{t.text}</span>;
}
