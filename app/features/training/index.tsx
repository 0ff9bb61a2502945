// The training feature as the app mounts it: the page inside the studio store's provider (it reads the
// open dataset); the engine store is global (app/engine/store.ts).
import { appStore } from '../../store/appStore';
import { StudioProvider } from '../../store';
import { TrainingPage } from './TrainingPage';

export function TrainingFeature() {
  return (
    <StudioProvider store={appStore()}>
      <TrainingPage />
    </StudioProvider>
  );
}
