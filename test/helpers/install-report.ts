/** Where muster's installer posts its reports: the URL on the kernel line of the node's `disk` boot script. */
export async function installReportUrl(httpUrl: string, mac: string): Promise<string> {
  const script = await (await fetch(`${httpUrl}/disk/boot/${mac}.ipxe`)).text();
  const url = / muster\.install\.report=(\S+)/.exec(script)?.[1];
  if (!url) throw new Error(`no report URL in the boot script: ${script}`);
  // The script names the controller as nodes reach it; the test reaches it at httpUrl.
  return url.replace(/^http:\/\/[^/]+/, httpUrl);
}
