/**
 * The model ids the upstream page lists, with what the simulator needs to answer for them:
 * the mode (for `usage.action`), the default model name and the family's defaults.
 * An `llmid` not in here is refused the way the upstream refuses it (200 + FAILED).
 */

export type VideoMode = "t2v" | "i2v" | "r2v";

export interface VideoModel {
  mode: VideoMode;
  model: string;
  resolution: string;
  duration: number;
}

const seedance2 = { resolution: "720p", duration: 5 };
const seedance15 = { resolution: "1080p", duration: 12 };
const wan = { resolution: "1920*1080", duration: 15 };
const vidu = { resolution: "1080p", duration: 10 };
const happyhorse = { resolution: "720p", duration: 5 };
const r2v = { resolution: "1080p", duration: 12 };

export const VIDEO_MODELS: Readonly<Record<string, VideoModel>> = {
  // Text-to-video
  o5vfXYD5BURJWRTWpopE5: { mode: "t2v", model: "happyhorse-1.0-t2v", ...happyhorse },
  YjjGgxO_Xma8PWsMjJvps: { mode: "t2v", model: "doubao-seedance-2-0-260128", ...seedance2 },
  "TWay-xd0p0pkEX-_Kuhto": { mode: "t2v", model: "dreamina-seedance-2-0-260128", ...seedance2 },
  CrEMkFQfRCmbmopZsCqLj: { mode: "t2v", model: "doubao-seedance-1-5-pro-251215", ...seedance15 },
  u9HZyfDoqU6uKI6M1BTks: { mode: "t2v", model: "wan2.6-t2v", ...wan },
  "r0ill7L0s6PtBS8mkmg-7": { mode: "t2v", model: "viduq3-pro", ...vidu },
  // Image-to-video (most also do text-to-video when no frame is given)
  "7y7kfYM0Xasizyi37WvAZ": { mode: "i2v", model: "happyhorse-1.0-i2v", ...happyhorse },
  UeYax4591ytnPcr9eumry: { mode: "i2v", model: "doubao-seedance-2-0-260128", ...seedance2 },
  tb0VSY6WeyGbzaolU1_qE: { mode: "i2v", model: "dreamina-seedance-2-0-fast-260128", ...seedance2 },
  "7RTOJD6K8A7RXCMG4GnQ9": { mode: "i2v", model: "doubao-seedance-1-5-pro-251215", ...seedance15 },
  FK_h7FLYnosv2TkMN4ATC: { mode: "i2v", model: "viduq3-pro", ...vidu },
  x4HksKp9mXR1Yv60mw6Py: { mode: "i2v", model: "wan2.6-r2v", ...wan },
  // Reference-to-video
  "6o9n_7u2K927hNlD8_72f": { mode: "r2v", model: "happyhorse-1.0-r2v", ...r2v },
  dmPXF65TD1riKj9KaxLmg: { mode: "r2v", model: "doubao-seedance-2-0-260128", ...r2v },
  nVbH7lEO51soqTbLGIHE_: { mode: "r2v", model: "dreamina-seedance-2-0-260128", ...r2v },
};

export const CHAT_MODELS: readonly string[] = [
  "qwen3-max",
  "qwen3-plus",
  "qwen3-turbo",
  "qwen-plus",
  "qwen-max",
  "deepseek-v3",
  "deepseek-r1",
  "kimi-k2",
  "glm-4.6",
];

export function lookupVideoModel(llmid: string): VideoModel | undefined {
  return Object.prototype.hasOwnProperty.call(VIDEO_MODELS, llmid) ? VIDEO_MODELS[llmid] : undefined;
}
