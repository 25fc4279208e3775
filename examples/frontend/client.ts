// A shop's page calling Tryon directly with a client token: the frontend
// quick start of the README ("Client tokens"), type-checked by CI against
// types generated from public/openapi.json:
//
//   npx openapi-typescript@7.13.0 public/openapi.json -o examples/frontend/api.d.ts
//   npx -p typescript@5.9.3 tsc --strict --noEmit --target ES2022 --module ESNext \
//     --moduleResolution Bundler --lib ES2022,DOM examples/frontend/client.ts
import type { components, paths } from "./api";

type GenerationRequest = components["schemas"]["GenerationRequest"];
type Generation = components["schemas"]["Generation"];
type ClientToken = components["schemas"]["ClientToken"];
type ErrorEnvelope = components["schemas"]["ErrorEnvelope"];
type Generated = paths["/generate"]["post"]["responses"][200]["content"]["application/json"];
type Accepted = paths["/generate"]["post"]["responses"][202]["content"]["application/json"];
type Read = paths["/generate/{id}"]["get"]["responses"][200]["content"]["application/json"];

/** Where Tryon is deployed. */
const TRYON = "https://tryon.example.com";

/** An answer Tryon refused, with what the page needs to react to it. */
export class TryonError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorEnvelope["code"],
    message: string,
    readonly retryAfterSeconds: number | null,
    readonly fields: { field: string; message: string }[],
  ) {
    super(message);
  }
}

/**
 * getToken asks the shop's own server for a client token. That endpoint
 * (behind the shop's login) calls POST /tokens with the secret key, or
 * mints one offline, and passes Tryon's `data` on.
 */
async function getToken(): Promise<ClientToken> {
  const r = await fetch("/tryon-token", { credentials: "same-origin" });
  if (!r.ok) throw new Error(`the shop's token endpoint answered ${r.status}`);
  return (await r.json()) as ClientToken;
}

let token: ClientToken | null = null;

async function call(path: string, init: RequestInit = {}): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    if (token === null || Date.parse(token.expires_at) - Date.now() < 30_000) {
      token = await getToken();
    }
    const headers = new Headers(init.headers);
    headers.set("Authorization", `Bearer ${token.token}`);
    const r = await fetch(TRYON + path, { ...init, headers });
    if (r.status === 401 && attempt === 0) {
      token = null; // expired or rotated: fetch a new one once
      continue;
    }
    if (r.status >= 400) {
      const e = (await r.json()) as ErrorEnvelope;
      const retry = r.headers.get("Retry-After");
      throw new TryonError(r.status, e.code, e.error, retry === null ? null : Number(retry), e.details ?? []);
    }
    return r;
  }
}

/** tryOn puts a garment on a person and returns the finished generation. */
export async function tryOn(personImage: string, garmentImage: string): Promise<Generation> {
  const body: GenerationRequest = {
    prompt: "Put the garment on the person; keep the pose and background",
    person_image: personImage,
    garment_image: garmentImage,
  };
  const r = await call("/generate", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  let g: Generation;
  if (r.status === 202) {
    g = ((await r.json()) as Accepted).data;
  } else {
    g = ((await r.json()) as Generated).data;
  }
  while (g.status === "processing") {
    await new Promise((resolve) => setTimeout(resolve, 2000));
    g = ((await (await call(`/generate/${g.id}`)).json()) as Read).data;
  }
  return g;
}

/** show renders a result, or says why there is none. */
export async function show(img: HTMLImageElement, status: HTMLElement, person: string, garment: string): Promise<void> {
  try {
    const g = await tryOn(person, garment);
    if (g.status === "succeeded" && g.output !== null) {
      img.src = g.output.url;
      img.width = g.output.width;
      img.height = g.output.height;
      status.textContent = `Done in ${g.latency_ms ?? 0} ms`;
    } else {
      status.textContent = g.error?.message ?? "the generation failed";
    }
  } catch (e) {
    if (e instanceof TryonError) {
      switch (e.code) {
        case "rate_limited":
        case "concurrency_limited":
          status.textContent = `Busy: try again in ${e.retryAfterSeconds ?? 10} s`;
          break;
        case "content_blocked":
          status.textContent = "These photos cannot be used; try others.";
          break;
        case "invalid_request":
          status.textContent = e.fields.map((f) => `${f.field} ${f.message}`).join("; ") || e.message;
          break;
        default:
          status.textContent = e.message;
      }
      return;
    }
    throw e;
  }
}
