# One job trains all networks of an experiment (task counts x seeds) as one vectorised ensemble.
# Periodic checkpoints go to an undeclared path (Snakemake deletes declared outputs before a
# rerun); a killed job resumes from the last one when it is run again.


rule train:
    input:
        ingredients="results/{preset}/data/{experiment}.pt",
        code=code_sources("train"),
    output:
        model="results/{preset}/models/{experiment}.pt",
        history=TABLES["history"],
    log:
        "results/{preset}/logs/train/{experiment}.log",
    benchmark:
        "results/{preset}/benchmarks/train/{experiment}.tsv"
    priority: PAPER_FIRST
    conda:
        JOB_ENV
    threads: config["threads"]
    resources:
        gpu=DEVICE_GPUS,
        mem_mb=4000,
    params:
        spec=spec_json,
        checkpoint="results/{preset}/checkpoints/{experiment}.ckpt",
        device=config["device"],
        context=table_context,
    shell:
        "python -u -m disentangle train --experiment {wildcards.experiment:q}"
        " --spec {params.spec:q} --ingredients {input.ingredients:q}"
        " --out {output.model:q} --history {output.history:q}"
        " --checkpoint {params.checkpoint:q} --device {params.device:q} --threads {threads}"
        " --context {params.context:q}"
        " > {log:q} 2>&1"
