# One papermill-executed notebook per panel: reads the tidy tables, writes figures/<panel>.pdf/.png.
# The executed notebook is kept under results/<preset>/notebooks/ for inspection.


rule panel:
    input:
        tables=lambda wc: sorted({p for paths in panel_tables(wc).values() for p in paths}),
        notebook=lambda wc: f"workflow/notebooks/{config['panels'][wc.panel]['notebook']}.py",
        style=sources("figures", "prior.py"),
    output:
        pdf=report(
            "figures/{panel}.pdf",
            caption="../report/panel.rst",
            category=panel_category,
            labels={"panel": "{panel}", "item": "figure"},
        ),
        png="figures/{panel}.png",
        summary=report(
            f"results/{PRESET}/summaries/{{panel}}.html",
            caption="../report/summary.rst",
            category=panel_category,
            labels={"panel": "{panel}", "item": "measured values"},
        ),
    log:
        notebook=f"results/{PRESET}/notebooks/{{panel}}.ipynb",
        txt=f"results/{PRESET}/logs/panel/{{panel}}.log",
    benchmark:
        f"results/{PRESET}/benchmarks/panel/{{panel}}.tsv"
    params:
        tables=lambda wc: json.dumps(panel_tables(wc), sort_keys=True),
        provenance=panel_provenance,
        claim=lambda wc: config["panels"][wc.panel].get("claim") or "not stated",
        options=lambda wc: json.dumps(config["panels"][wc.panel].get("options", {}), sort_keys=True),
    shell:
        "python -m jupytext --to ipynb -o - {input.notebook:q} 2> {log.txt:q}"
        " | python -m papermill - {log.notebook:q} -k python3 --no-progress-bar"
        " --log-output -r tables {params.tables:q} -r pdf {output.pdf:q}"
        " -r png {output.png:q} -r provenance {params.provenance:q}"
        " -r options {params.options:q} -r summary {output.summary:q}"
        " -r claim {params.claim:q} >> {log.txt:q} 2>&1"
