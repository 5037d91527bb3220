// What a command prints while the issue that builds it is still open.

export function notYet(what: string, issue: number): () => never {
  return () => {
    process.stderr.write(
      `eventfleet: ${what} is not built yet (issue ${issue}); see the README for what runs today.\n`,
    );
    process.exit(2);
  };
}
