// The model feature: the picker (used by the Train screen and any screen that needs a model) and the
// header badge.
export { ModelBadge, ModelPicker } from './ModelPicker';
export { LastModelOffer } from './LastModelOffer';
