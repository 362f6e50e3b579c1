// @lesionenc/lungmask: lung segmentation with left/right labels and slice selection by lung area.
export {
  type LungSegmentation,
  type SegmentLungsOptions,
  DEFAULT_SEGMENT_LUNGS,
  segmentLungs,
} from './classical';
