// Module hooks for register.mjs: each resolved module URL is posted with the URL of the module importing it.
let port;

export function initialize(data) {
  port = data.port;
}

export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  port.postMessage({ url: result.url, parent: context.parentURL ?? null });
  return result;
}
