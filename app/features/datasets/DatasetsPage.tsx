// The Data step: import, curate, split, check, and hand on. Panels in the order a user meets them.
import { useDatasets } from '../../store';
import { Alert } from '../../components/Alert';
import { DatasetBar } from './DatasetBar';
import { DuplicatesPanel } from './DuplicatesPanel';
import { ExportPanel } from './ExportPanel';
import { ImportPanel } from './ImportPanel';
import { QualityPanel } from './QualityPanel';
import { RecordsTable } from './RecordsTable';
import { SplitPanel } from './SplitPanel';
import { TokensPanel } from './TokensPanel';
import { VersionsPanel } from './VersionsPanel';

export function DatasetsPage() {
  const error = useDatasets((s) => s.error);
  const dismissError = useDatasets((s) => s.dismissError);
  return (
    <div className="datasets">
      <DatasetBar />
      {error && <Alert message={error} onDismiss={dismissError} />}
      <ImportPanel />
      <RecordsTable />
      <div className="panels">
        <DuplicatesPanel />
        <QualityPanel />
        <SplitPanel />
        <TokensPanel />
        <VersionsPanel />
        <ExportPanel />
      </div>
    </div>
  );
}
