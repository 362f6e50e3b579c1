// A worker thread of the lesion-encoder pool: its own tfjs backend and its own copy of the
// network, encoding the slices the pool sends and sending back labels and features.
import { parentPort, workerData } from 'node:worker_threads';

import { isLesionEncError } from '@lesionenc/base';
import { createInferenceUnet, encodeSliceImages } from '@lesionenc/lesion-encoder';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';

import { loadLesionUnet } from '../internal/models';
import type { PoolRequest, PoolResponse, PoolWorkerData } from '../internal/pool-protocol';

const port = parentPort;
if (port === null) throw new Error('encode-worker: expected to run in a worker thread');

function send(message: PoolResponse, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(message, transfer);
}

function describe(error: unknown): { code: string; message: string } {
  return {
    code: isLesionEncError(error) ? error.code : 'INTERNAL',
    message: error instanceof Error ? error.message : String(error),
  };
}

async function start(): Promise<void> {
  const data = workerData as PoolWorkerData;
  await tf.setBackend(data.backend);
  await tf.ready();
  // A worker only runs inference: one set of weights, batch normalisation folded in.
  const unet = createInferenceUnet(
    (await loadLesionUnet(data.unet, data.weightsPath ?? undefined)).unet,
  );
  send({ type: 'ready', config: unet.config, featureSize: unet.featureSize });

  port!.on('message', (request: PoolRequest) => {
    if (request.type === 'close') {
      unet.dispose();
      port!.close();
      return;
    }
    encodeSliceImages(unet, request.images, request.count, {
      outputSizePx: request.outputSizePx,
      batchSize: request.batchSize,
      featuresOnly: request.featuresOnly,
    })
      .then((result) =>
        send({ type: 'result', id: request.id, labels: result.labels, features: result.features }, [
          result.labels.buffer as ArrayBuffer,
          result.features.buffer as ArrayBuffer,
        ]),
      )
      .catch((error: unknown) => send({ type: 'error', id: request.id, ...describe(error) }));
  });
}

start().catch((error: unknown) => send({ type: 'error', id: null, ...describe(error) }));
