// The Export feature as the app mounts it: the page inside the studio store's provider (the training kit
// reads the open dataset); the engine store is global.
import { appStore } from '../../store/appStore';
import { StudioProvider } from '../../store';
import { ExportPage } from './ExportPage';

export function ExportFeature() {
  return (
    <StudioProvider store={appStore()}>
      <ExportPage />
    </StudioProvider>
  );
}
