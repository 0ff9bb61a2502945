// The datasets feature as the app mounts it: the page inside the app store's provider.
import { appStore } from '../../store/appStore';
import { StudioProvider } from '../../store';
import { DatasetsPage } from './DatasetsPage';

export function DatasetsFeature() {
  return (
    <StudioProvider store={appStore()}>
      <DatasetsPage />
    </StudioProvider>
  );
}
