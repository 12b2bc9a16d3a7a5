import { readFileSync } from 'node:fs';

/**
 * augurs (Rust compiled to WASM) loaded from the bytes on disk with `initSync`: its default async
 * init fetches a URL, which Node cannot do for a file. Loaded once, on first use.
 */
type Forecast = { point: number[]; intervals?: { level: number; lower: number[]; upper: number[] } };
export interface MstlModel { fit(y: Float64Array): void; predict(horizon: number, level?: number): Forecast; free(): void }
export interface EtsModel { fit(y: Float64Array): void; predict(horizon: number, level?: number): Forecast; free(): void }
export interface ProphetModel {
  fit(data: { ds: number[]; y: number[] }, options?: { seed?: number }): void;
  predict(data?: { ds: number[] }): { yhat: Forecast };
  free(): void;
}

export interface Augurs {
  mstl(periods: number[]): MstlModel;
  ets(): EtsModel;
  prophet(options: { intervalWidth: number; uncertaintySamples?: number }): ProphetModel;
}

let loaded: Promise<Augurs> | undefined;

export function loadAugurs(): Promise<Augurs> {
  loaded ??= load();
  return loaded;
}

async function load(): Promise<Augurs> {
  const module = async (name: string) => {
    const url = import.meta.resolve(`@bsull/augurs/${name}`);
    const mod = (await import(url)) as { initSync(options: { module: Buffer }): void };
    mod.initSync({ module: readFileSync(new URL(`${name}_bg.wasm`, url)) });
    return mod as unknown;
  };
  const mstl = (await module('mstl')) as { MSTL: { ets(periods: number[]): MstlModel } };
  const ets = (await module('ets')) as { AutoETS: new (seasonLength: number, spec: string) => EtsModel };
  const prophet = (await module('prophet')) as { Prophet: new (options: object) => ProphetModel };
  const { optimizer } = (await import('@bsull/augurs-prophet-wasmstan')) as { optimizer: unknown };
  return {
    mstl: (periods) => mstl.MSTL.ets(periods),
    ets: () => new ets.AutoETS(1, 'ZZN'),
    prophet: (options) => new prophet.Prophet({ optimizer, ...options }),
  };
}
