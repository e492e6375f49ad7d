# Claims as data: each panel's claims (config: panels.<id>.claims) evaluated on its tables, with a
# bootstrap interval and a verdict, then gathered into the run's ledger (disentangle.claims).


rule panel_claims:
    input:
        tables=lambda wc: sorted({p for paths in panel_tables(wc).values() for p in paths}),
        code=code_sources("panel_claims"),
    output:
        csv=f"results/{PRESET}/claims/{{panel}}.csv",
        html=report(
            f"results/{PRESET}/claims/{{panel}}.html",
            caption="../report/claims.rst",
            category=panel_category,
            labels={"panel": "{panel}", "item": "claims"},
        ),
    log:
        f"results/{PRESET}/logs/claims/{{panel}}.log",
    benchmark:
        f"results/{PRESET}/benchmarks/claims/{{panel}}.tsv"
    priority: PAPER_FIRST
    conda:
        JOB_ENV
    params:
        tables=lambda wc: json.dumps(panel_tables(wc), sort_keys=True),
        claims=lambda wc: json.dumps(config["panels"][wc.panel].get("claims") or []),
        section=lambda wc: config["panels"][wc.panel]["section"],
    shell:
        "python -m disentangle claims --panel {wildcards.panel:q} --section {params.section:q}"
        " --claims {params.claims:q} --tables {params.tables:q}"
        " --out {output.csv:q} --html {output.html:q} > {log:q} 2>&1"


rule claims_ledger:
    input:
        expand(f"results/{PRESET}/claims/{{panel}}.csv", panel=list(config["panels"])),
        code=code_sources("claims_ledger"),
    output:
        csv=f"results/{PRESET}/claims.csv",
        md=f"results/{PRESET}/CLAIMS.md",
    log:
        f"results/{PRESET}/logs/claims/ledger.log",
    benchmark:
        f"results/{PRESET}/benchmarks/claims/ledger.tsv"
    conda:
        JOB_ENV
    params:
        inputs=lambda wc, input: " ".join(
            shlex.quote(p) for p in input if p.startswith(f"results/{PRESET}/claims/")
        ),
        preset=PRESET,
    shell:
        "python -m disentangle ledger {params.inputs} --preset {params.preset:q}"
        " --out-csv {output.csv:q} --out-md {output.md:q} > {log:q} 2>&1"
