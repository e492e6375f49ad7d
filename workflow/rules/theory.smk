# Closed-form theory checks (disentangle.theory): no training, a tidy table per check.


rule theory_check:
    input:
        code=code_sources("theory_check"),
    output:
        TABLES["theory"].replace("{experiment}", "{check}"),
    log:
        "results/{preset}/logs/theory/{check}.log",
    benchmark:
        "results/{preset}/benchmarks/theory/{check}.tsv"
    priority: PAPER_FIRST
    conda:
        JOB_ENV
    params:
        seed=config["theory"]["seed"],
        size=lambda wc: config["theory"]["sizes"].get(wc.check, 0),
        context=lambda wc: json.dumps({"preset": wc.preset}),
    shell:
        "python -u -m disentangle theory --check {wildcards.check:q} --seed {params.seed:q}"
        " --size {params.size:q} --context {params.context:q} --out {output:q} > {log:q} 2>&1"
