"""THE parser of benchmark names: `scenario/part/.../key:value`.

    roundtrip/pipe/process/size:64/pin:same/real_time
    -> Name(scenario="roundtrip", parts=("pipe", "process"),
            params={"size": "64", "pin": "same"})

Components Google Benchmark appends for run configuration (real_time,
iterations:N, repeats:N, ...) are dropped.
"""
import dataclasses

# Name components Google Benchmark appends for run configuration.
RUN_CONFIG = ("real_time", "manual_time", "process_time")
RUN_CONFIG_KEYS = ("iterations", "repeats", "threads", "min_time",
                   "min_warmup_time")


@dataclasses.dataclass(frozen=True)
class Name:
    scenario: str
    parts: tuple          # positional components after the scenario
    params: dict          # key -> value (str), in name order

    def int_param(self, key):
        """params[key] as a whole number >= 0, None when absent; raises
        ValueError when it is not one."""
        if key not in self.params:
            return None
        value = self.params[key]
        try:
            number = int(value)
        except ValueError:
            raise ValueError(f"{key}:{value} is not a whole number") \
                from None
        if number < 0:
            raise ValueError(f"{key}:{value} is negative")
        return number


def parse(name):
    """Benchmark name -> Name; raises ValueError for an empty name."""
    parts = [p for p in name.split("/") if p]
    while parts and (parts[-1] in RUN_CONFIG or
                     parts[-1].split(":")[0] in RUN_CONFIG_KEYS):
        parts.pop()
    if not parts:
        raise ValueError("empty benchmark name")
    positional, params = [], {}
    for p in parts[1:]:
        if ":" in p:
            key, value = p.split(":", 1)
            params[key] = value
        else:
            positional.append(p)
    return Name(parts[0], tuple(positional), params)


def strip_config(name):
    """The name without Google Benchmark's run-configuration components."""
    parts = name.split("/")
    while len(parts) > 1 and (parts[-1] in RUN_CONFIG or
                              parts[-1].split(":")[0] in RUN_CONFIG_KEYS):
        parts.pop()
    return "/".join(parts)
