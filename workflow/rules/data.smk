# Fixed ingredients per experiment: every network's mixing encoder f and boundary matrix C, and the
# evaluation trials on which decoders are fitted and tested.


rule ingredients:
    input:
        code=code_sources("ingredients"),
    output:
        "results/{preset}/data/{experiment}.pt",
    log:
        "results/{preset}/logs/ingredients/{experiment}.log",
    benchmark:
        "results/{preset}/benchmarks/ingredients/{experiment}.tsv"
    priority: PAPER_FIRST
    conda:
        JOB_ENV
    params:
        spec=spec_json,
        evaluation=json.dumps(config["evaluation"], sort_keys=True),
    shell:
        "python -m disentangle ingredients --experiment {wildcards.experiment:q}"
        " --spec {params.spec:q} --evaluation {params.evaluation:q} --out {output:q}"
        " > {log:q} 2>&1"
