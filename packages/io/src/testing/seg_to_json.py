# Reads a DICOM SEG with pydicom (values validated strictly) and prints, as JSON, what the
# TypeScript tests compare: segments, geometry, and each frame's segment, position, source image
# and decoded bits. Usage: /usr/bin/python3 seg_to_json.py file.dcm
import json
import sys

import numpy as np
import pydicom
import pydicom.config

pydicom.config.settings.reading_validation_mode = pydicom.config.RAISE

ds = pydicom.dcmread(sys.argv[1])
bits = ds.pixel_array
if bits.ndim == 2:
    bits = bits[np.newaxis]
shared = ds.SharedFunctionalGroupsSequence[0]
frames = []
for item, frame in zip(ds.PerFrameFunctionalGroupsSequence, bits):
    source = None
    if "DerivationImageSequence" in item:
        source = item.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID
    frames.append(
        {
            "segment": int(item.SegmentIdentificationSequence[0].ReferencedSegmentNumber),
            "position": [float(v) for v in item.PlanePositionSequence[0].ImagePositionPatient],
            "source": source,
            "ones": np.flatnonzero(frame).tolist(),
        }
    )
segments = [
    {
        "number": int(s.SegmentNumber),
        "label": str(s.SegmentLabel),
        "category": str(s.SegmentedPropertyCategoryCodeSequence[0].CodeValue),
        "type": str(s.SegmentedPropertyTypeCodeSequence[0].CodeValue),
        "scheme": str(s.SegmentedPropertyTypeCodeSequence[0].CodingSchemeDesignator),
    }
    for s in ds.SegmentSequence
]
print(
    json.dumps(
        {
            "sopClassUid": str(ds.SOPClassUID),
            "modality": str(ds.Modality),
            "studyInstanceUid": str(ds.StudyInstanceUID),
            "frameOfReferenceUid": str(ds.FrameOfReferenceUID),
            "referencedSeriesUid": str(ds.ReferencedSeriesSequence[0].SeriesInstanceUID),
            "numberOfFrames": int(ds.NumberOfFrames),
            "shape": list(bits.shape),
            "orientation": [
                float(v) for v in shared.PlaneOrientationSequence[0].ImageOrientationPatient
            ],
            "pixelSpacing": [float(v) for v in shared.PixelMeasuresSequence[0].PixelSpacing],
            "segments": segments,
            "frames": frames,
        }
    )
)
