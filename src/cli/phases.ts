/** The phases that `--<phase>_only` flags choose, in their order; every phase when none is chosen. */
export function chosenPhases<Phase>(choices: [Phase, boolean][]): Phase[] {
  const only = choices.filter(([, wanted]) => wanted).map(([phase]) => phase)
  return only.length > 0 ? only : choices.map(([phase]) => phase)
}
