"""Were the repetitions interleaved? From the order the repetitions ran
(their started_s; the file's order where a file has none): a benchmark's
repetitions are interleaved when they are not one contiguous block of the
run. Back-to-back repetitions put figures compared in one table minutes
apart (docs/MEASURING.md)."""
import dataclasses


@dataclasses.dataclass
class Interleaving:
    spread: int           # benchmarks whose repetitions are not contiguous
    total: int            # benchmarks with two or more repetitions
    by: str               # "started_s" | "file order"

    @property
    def interleaved(self):
        return self.total > 0 and self.spread == self.total

    def sentence(self):
        if not self.total:
            return None
        if self.spread == 0:
            return (f"Repetitions were **not interleaved**: each of the "
                    f"{self.total} benchmarks ran its repetitions back to "
                    f"back (by {self.by}), so figures compared in one table "
                    "were taken minutes apart and the machine's drift "
                    "between them looks like a difference (docs/MEASURING.md;"
                    " run with --benchmark_enable_random_interleaving=true).")
        if self.interleaved:
            return (f"Repetitions were interleaved: the repetitions of all "
                    f"{self.total} benchmarks are spread through the run (by "
                    f"{self.by}), so each spread includes the run's drift and "
                    "compared figures were taken side by side.")
        return (f"Repetitions were partly interleaved: {self.spread} of "
                f"{self.total} benchmarks have their repetitions spread "
                f"through the run (by {self.by}); the other "
                f"{self.total - self.spread} ran theirs back to back.")


def interleaving(ds):
    points = [p for p in ds.points.values()
              if p.source == "repetitions" and len(p.values) > 1]
    timed = all(p.started and None not in p.started for p in points)
    by = "started_s" if timed and points else "file order"
    stamps = []
    for i, p in enumerate(points):
        for j, (t, pos) in enumerate(zip(p.started or [None] * len(p.order),
                                         p.order)):
            stamps.append(((t if timed else pos), pos, i))
    stamps.sort()
    ranks = {}
    for rank, (_, _, i) in enumerate(stamps):
        ranks.setdefault(i, []).append(rank)
    spread = sum(1 for r in ranks.values() if max(r) - min(r) + 1 > len(r))
    return Interleaving(spread, len(points), by)
