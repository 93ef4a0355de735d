"""personascope from Python, as a notebook would use it (runs in a few minutes on a CPU).

    python examples/notebook.py [OUT_DIR]

1. generate a small layered persona population with the embedded chat model, and measure
   the diversity of its descriptions (one row per metric, with 95% intervals);
2. run the quick adoption study on the same model and read its estimates as a tidy
   DataFrame (one row per model, study and measure);
3. plot the adoption slope per Big-Five domain with its interval, from the DataFrame.
"""

from __future__ import annotations

import sys
from pathlib import Path

import plotly.graph_objects as go

import personascope as ps

CHAT = "llamacpp/smollm2-135m-instruct"
EXAMPLES = Path(__file__).parent


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)

    # 1. a persona population and the diversity of its descriptions
    personas = ps.generate(
        "layered",
        8,
        model=CHAT,
        config=EXAMPLES / "layers.yaml",
        output=out / "personas.jsonl",
        out=out / "generate",
    )
    panel = ps.diversity(personas["description"], semantic=False)
    print(panel[["metric", "value", "low", "high", "n"]].head(6).to_string(index=False))

    # 2. the quick adoption study, its estimates as a DataFrame
    result = ps.run_study("adoption", [CHAT], quick=True, out=out / "adoption", progress=False)
    frame = result.frame("adoption")
    slopes = frame[frame["measure"].str.match(r"conditions\.accuracy\.domains\.\w\.slope$")]
    print(slopes[["measure", "value", "low", "high", "n"]].to_string(index=False))

    # 3. one figure from the DataFrame
    domains = slopes["measure"].str.extract(r"domains\.(\w)\.slope")[0]
    figure = go.Figure(
        go.Bar(
            x=domains,
            y=slopes["value"],
            error_y={
                "type": "data",
                "array": slopes["high"] - slopes["value"],
                "arrayminus": slopes["value"] - slopes["low"],
            },
        )
    )
    figure.update_layout(
        title=f"{CHAT}: measured vs target slope per domain (1 = full adoption)",
        yaxis_title="slope [95% CI]",
    )
    figure.write_html(out / "adoption_slopes.html", include_plotlyjs=True)
    print(f"figure: {out / 'adoption_slopes.html'}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "personascope-runs/notebook"))
