# One papermill-executed notebook per panel: reads the tidy tables, writes figures/<panel>.pdf/.png.
# The executed notebook is kept under results/<preset>/notebooks/ for inspection.


def panel_tables(wildcards):
    entry = config["panels"][wildcards.panel]
    return [f"results/{PRESET}/metrics/{e}/ood_r2.parquet" for e in entry["experiments"]]


def panel_provenance(wildcards):
    entry = config["panels"][wildcards.panel]
    return json.dumps(
        {
            "panel": wildcards.panel,
            "preset": PRESET,
            "experiments": {e: training_spec_json(EXPERIMENTS, e) for e in entry["experiments"]},
            "metrics": config["metrics"],
            "evaluation": config["evaluation"],
        },
        sort_keys=True,
    )


rule panel:
    input:
        tables=panel_tables,
        notebook=lambda wc: f"workflow/notebooks/{config['panels'][wc.panel]['notebook']}.py",
        style=sources("figures"),
    output:
        pdf=report(
            "figures/{panel}.pdf",
            caption="../report/panel.rst",
            category="Figures",
            labels={"panel": "{panel}"},
        ),
        png="figures/{panel}.png",
    params:
        tables=lambda wc, input: json.dumps(list(input.tables)),
        provenance=panel_provenance,
        caption=lambda wc: config["panels"][wc.panel].get("caption", ""),
    log:
        notebook=f"results/{PRESET}/notebooks/{{panel}}.ipynb",
        txt=f"results/{PRESET}/logs/panel/{{panel}}.log",
    shell:
        "{PYTHON:q} -m jupytext --to ipynb -o - {input.notebook:q} 2> {log.txt:q}"
        " | {PYTHON:q} -m papermill - {log.notebook:q} -k python3 --no-progress-bar"
        " --log-output -r tables {params.tables:q} -r pdf {output.pdf:q}"
        " -r png {output.png:q} -r provenance {params.provenance:q} >> {log.txt:q} 2>&1"
