// The Compare feature as the app mounts it: the page inside the studio store's provider (it reads the open
// dataset's rows); the engine store and the compare store are global (app/engine/store.ts, ./store.ts).
import { appStore } from '../../store/appStore';
import { StudioProvider } from '../../store';
import { ComparePage } from './ComparePage';

export function CompareFeature() {
  return (
    <StudioProvider store={appStore()}>
      <ComparePage />
    </StudioProvider>
  );
}
