// `pullguard check -f FILE|DIR|-`: placeholder until manifests are read (see issue: ship it).
export async function runCheck(_args: string[]): Promise<number> {
  process.stderr.write('pullguard check: not implemented yet\n');
  return 3;
}
