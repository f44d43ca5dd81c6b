#!/usr/bin/python3
"""The table of bench/run.sh: medians with min and max per cell, ratios.

  report.py RAW_CSV OUT_DIR CAPTION

Prints the table (Markdown), writes OUT_DIR/table.md, OUT_DIR/summary.csv
and one PNG per setup (ustack/Linux per metric, bars from the medians,
whiskers from min and max) with python3-matplotlib.
"""
import csv
import os
import statistics
import sys

SETUP_NAMES = {
    "local": "local (Linux: lo; ustack: its loopback, both programs preloaded)",
    "wire": "wire (kernel peer in a netns; ustack: net_tap; Linux: veth)",
    "s2s": "stack to stack (ustack: two ustackd over net_memif; Linux: veth between netns)",
    "stack": "stack alone (exact or one-off measurements)",
}


def fmt(v):
    if v >= 100:
        return "%.0f" % v
    if v >= 10:
        return "%.1f" % v
    return "%.2f" % v


def cell(vals):
    if not vals:
        return None, "-"
    m = statistics.median(vals)
    if len(vals) == 1:
        return m, fmt(m)
    return m, "%s (%s–%s)" % (fmt(m), fmt(min(vals)), fmt(max(vals)))


def main():
    raw, out, caption = sys.argv[1], sys.argv[2], sys.argv[3]
    rows = {}
    order = []
    notes = {}
    for r in csv.DictReader(open(raw)):
        key = (r["setup"], r["workload"])
        if r["value"] == "NA":
            notes[key + (r["stack"],)] = r["note"]
            if key not in order:
                order.append(key)
            continue
        mkey = key + (r["metric"], r["unit"], r["better"])
        if mkey not in rows:
            rows[mkey] = {"linux": [], "ustack": []}
            if key not in order:
                order.append(key)
        rows[mkey][r["stack"]].append(float(r["value"]))

    lines = ["| setup | workload | metric | Linux | ustack | ustack/Linux |",
             "| --- | --- | --- | --- | --- | --- |"]
    summary = [["setup", "workload", "metric", "unit", "better", "linux_median", "linux_min",
                "linux_max", "ustack_median", "ustack_min", "ustack_max", "ratio", "note"]]
    plots = {}
    for setup, wl in order:
        metrics = [k for k in rows if k[0] == setup and k[1] == wl]
        if not metrics:
            metrics = [(setup, wl, "-", "", "")]
        for mkey in metrics:
            _, _, metric, unit, better = mkey
            vals = rows.get(mkey, {"linux": [], "ustack": []})
            lm, ltxt = cell(vals["linux"])
            um, utxt = cell(vals["ustack"])
            note = ""
            for stack in ("linux", "ustack"):
                n = notes.get((setup, wl, stack))
                if n:
                    if stack == "ustack":
                        utxt = n
                    else:
                        ltxt = n if setup != "stack" else "-"
                    note = n
            ratio = ""
            if lm and um:
                ratio = "%.2f" % (um / lm)
                if better == "lower":
                    ratio += " (%s)" % ("better" if um < lm else "worse")
                elif better == "higher":
                    ratio += " (%s)" % ("better" if um > lm else "worse")
                plots.setdefault(setup, []).append(
                    ("%s\n%s" % (wl, metric), um / lm,
                     min(vals["ustack"]) / lm, max(vals["ustack"]) / lm))
            name = "%s, %s" % (metric, unit) if unit else metric
            lines.append("| %s | %s | %s | %s | %s | %s |" % (setup, wl, name, ltxt, utxt, ratio))
            summary.append([setup, wl, metric, unit, better] +
                           [fmt(f(vals["linux"])) if vals["linux"] else "" for f in
                            (statistics.median, min, max)] +
                           [fmt(f(vals["ustack"])) if vals["ustack"] else "" for f in
                            (statistics.median, min, max)] + [ratio, note])
    text = "\n".join(lines) + "\n\n" + caption + "; setups: " + "; ".join(
        "%s = %s" % kv for kv in SETUP_NAMES.items()) + "\n"
    print(text)
    with open(os.path.join(out, "table.md"), "w") as f:
        f.write(text)
    with open(os.path.join(out, "summary.csv"), "w", newline="") as f:
        csv.writer(f).writerows(summary)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(no plots: python3-matplotlib is not installed)")
        return
    for setup, pts in plots.items():
        fig, ax = plt.subplots(figsize=(8, 0.45 * len(pts) + 1.5))
        y = range(len(pts))
        ax.barh(list(y), [p[1] for p in pts],
                xerr=[[p[1] - p[2] for p in pts], [p[3] - p[1] for p in pts]], color="tab:blue")
        ax.axvline(1.0, color="black", linewidth=0.8)
        ax.set_yticks(list(y))
        ax.set_yticklabels([p[0] for p in pts], fontsize=7)
        ax.set_xscale("log")
        ax.set_xlabel("ustack / Linux (median; whiskers: ustack min–max)")
        ax.set_title(SETUP_NAMES.get(setup, setup), fontsize=9)
        fig.tight_layout()
        fig.savefig(os.path.join(out, "%s.png" % setup), dpi=100)
        plt.close(fig)
    print("results: %s" % out)


if __name__ == "__main__":
    main()
