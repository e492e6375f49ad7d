# One papermill-executed notebook per panel: reads the tidy tables, writes
# figures/<preset>/<panel>.pdf/.png (one folder per preset, so that building one preset never
# leaves another's panels in place of the ones asked for). The executed notebook is kept under
# results/<preset>/notebooks/ for inspection.


rule panel:
    input:
        tables=lambda wc: sorted({p for paths in panel_tables(wc).values() for p in paths}),
        notebook=lambda wc: notebook_path(config["panels"][wc.panel]["notebook"]),
        code=code_sources("panel"),
    output:
        pdf=report(
            f"figures/{PRESET}/{{panel}}.pdf",
            caption="../report/panel.rst",
            category=panel_category,
            labels={"panel": "{panel}", "item": "figure"},
        ),
        png=f"figures/{PRESET}/{{panel}}.png",
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
    priority: PAPER_FIRST
    conda:
        JOB_ENV
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
        " -r claim {params.claim:q} 2>&1 | sed -u 's/\\x1b\\[[0-9;]*[A-Za-z]//g' >> {log.txt:q}"


# A panel of another preset, or a panel path without a preset folder: stop while the DAG is built,
# with the command that builds it (other_preset_hint in common.smk). Neither rule ever runs.
rule other_preset:
    input:
        other_preset_hint,
    output:
        "figures/{other}/{panel}.{ext}",
    log:
        f"results/{PRESET}/logs/other_preset/{{other}}-{{panel}}.{{ext}}.log",
    wildcard_constraints:
        other=f"(?!{re.escape(PRESET)}/)[a-z0-9_-]+",
        ext="pdf|png",
    conda:
        JOB_ENV
    shell:
        "exit 1"


rule no_preset_folder:
    input:
        other_preset_hint,
    output:
        "figures/{panel}.{ext}",
    log:
        f"results/{PRESET}/logs/no_preset_folder/{{panel}}.{{ext}}.log",
    wildcard_constraints:
        ext="pdf|png",
    conda:
        JOB_ENV
    shell:
        "exit 1"
