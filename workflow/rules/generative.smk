# The β-VAE family, iVAE and InfoGAN on dSprites and on the task's observations, and the
# multi-task networks scored with the same disentanglement metrics (the comparison panels).


rule train_generative:
    input:
        unpack(generative_inputs),
        code=code_sources("train_generative"),
    output:
        "results/{preset}/generative/models/{gmodel}.pt",
    log:
        "results/{preset}/logs/train_generative/{gmodel}.log",
    benchmark:
        "results/{preset}/benchmarks/train_generative/{gmodel}.tsv"
    conda:
        JOB_ENV
    threads: 1
    resources:
        gpu=DEVICE_GPUS,
        mem_mb=4000,
    params:
        spec=generative_spec,
        settings=comparison_settings("n_points", task_only=True),
        checkpoint="results/{preset}/checkpoints/generative/{gmodel}.ckpt",
        batch_size=config["generative"]["batch_size"],
        ingredients=ingredients_arg,
        dsprites=dsprites_args,
        device=config["device"],
    shell:
        "python -u -m disentangle train-generative --name {wildcards.gmodel:q}"
        " --model-spec {params.spec:q} --settings {params.settings:q} {params.ingredients}"
        " {params.dsprites} --batch-size {params.batch_size:q} --out {output:q}"
        " --checkpoint {params.checkpoint:q} --device {params.device:q}"
        " --threads {threads} > {log:q} 2>&1"


rule score_generative:
    input:
        unpack(generative_inputs),
        model="results/{preset}/generative/models/{gmodel}.pt",
        code=code_sources("score_generative"),
    output:
        TABLES["generative_scores"].replace("{experiment}", "{gmodel}"),
    log:
        "results/{preset}/logs/score_generative/{gmodel}.log",
    benchmark:
        "results/{preset}/benchmarks/score_generative/{gmodel}.tsv"
    conda:
        JOB_ENV
    resources:
        gpu=DEVICE_GPUS,
    params:
        spec=generative_spec,
        settings=comparison_settings(
            "n_points", "n_bins", "dci_estimators", "ood_penalty", "intervention"
        ),
        context=lambda wc: json.dumps({"preset": wc.preset}),
        ingredients=ingredients_arg,
        dsprites=dsprites_args,
        device=config["device"],
    shell:
        "python -u -m disentangle score-generative --name {wildcards.gmodel:q}"
        " --model {input.model:q} --model-spec {params.spec:q} --settings {params.settings:q}"
        " {params.ingredients} {params.dsprites} --context {params.context:q} --out {output:q}"
        " --device {params.device:q} > {log:q} 2>&1"


rule traversals:
    input:
        model="results/{preset}/generative/models/{gmodel}.pt",
        code=code_sources("traversals"),
    output:
        TABLES["traversals"].replace("{experiment}", "{gmodel}"),
    log:
        "results/{preset}/logs/traversals/{gmodel}.log",
    benchmark:
        "results/{preset}/benchmarks/traversals/{gmodel}.tsv"
    conda:
        JOB_ENV
    resources:
        gpu=DEVICE_GPUS,
    params:
        spec=generative_spec,
        settings=comparison_settings("traversal"),
        context=lambda wc: json.dumps({"preset": wc.preset}),
        device=config["device"],
    shell:
        "python -u -m disentangle traversals --name {wildcards.gmodel:q} --model {input.model:q}"
        " --model-spec {params.spec:q} --settings {params.settings:q}"
        " --context {params.context:q} --out {output:q} --device {params.device:q}"
        " > {log:q} 2>&1"


rule generative_health:
    input:
        unpack(generative_inputs),
        model="results/{preset}/generative/models/{gmodel}.pt",
        code=code_sources("generative_health"),
    output:
        TABLES["generative_health"].replace("{experiment}", "{gmodel}"),
    log:
        "results/{preset}/logs/generative_health/{gmodel}.log",
    benchmark:
        "results/{preset}/benchmarks/generative_health/{gmodel}.tsv"
    conda:
        JOB_ENV
    threads: 1
    params:
        spec=generative_spec,
        settings=comparison_settings("n_points", "health_points"),
        context=lambda wc: json.dumps({"preset": wc.preset}),
        ingredients=ingredients_arg,
        dsprites=dsprites_args,
    shell:
        "python -u -m disentangle generative-health --name {wildcards.gmodel:q}"
        " --model {input.model:q} --model-spec {params.spec:q} --settings {params.settings:q}"
        " {params.ingredients} {params.dsprites} --context {params.context:q} --out {output:q}"
        " --threads {threads} > {log:q} 2>&1"


rule generative_history:
    input:
        model="results/{preset}/generative/models/{gmodel}.pt",
        code=code_sources("generative_history"),
    output:
        TABLES["generative_history"].replace("{experiment}", "{gmodel}"),
    log:
        "results/{preset}/logs/generative_history/{gmodel}.log",
    benchmark:
        "results/{preset}/benchmarks/generative_history/{gmodel}.tsv"
    conda:
        JOB_ENV
    threads: 1
    params:
        spec=generative_spec,
        context=lambda wc: json.dumps({"preset": wc.preset}),
    shell:
        "python -u -m disentangle generative-history --name {wildcards.gmodel:q}"
        " --model {input.model:q} --model-spec {params.spec:q} --settings '{{}}'"
        " --context {params.context:q} --out {output:q} > {log:q} 2>&1"


rule floors:
    input:
        code=code_sources("floors"),
    output:
        "results/{preset}/metrics/{experiment}/floors.parquet",
    log:
        "results/{preset}/logs/floors/{experiment}.log",
    benchmark:
        "results/{preset}/benchmarks/floors/{experiment}.tsv"
    conda:
        JOB_ENV
    threads: 1
    params:
        spec=spec_json,
        settings=comparison_settings(*FLOOR_KEYS),
        context=lambda wc: json.dumps({"preset": wc.preset}),
    shell:
        "python -u -m disentangle floors --experiment {wildcards.experiment:q}"
        " --spec {params.spec:q} --settings {params.settings:q} --context {params.context:q}"
        " --out {output:q} > {log:q} 2>&1"


rule score_networks:
    input:
        model="results/{preset}/models/{experiment}.pt",
        ingredients="results/{preset}/data/{experiment}.pt",
        floors=lambda wc: f"results/{wc.preset}/metrics/{floor_owner(wc.experiment)}/floors.parquet",
        code=code_sources("score_networks"),
    output:
        TABLES["disentanglement"],
    log:
        "results/{preset}/logs/score_networks/{experiment}.log",
    benchmark:
        "results/{preset}/benchmarks/score_networks/{experiment}.tsv"
    conda:
        JOB_ENV
    threads: 1
    resources:
        gpu=DEVICE_GPUS,
    params:
        settings=comparison_settings(*FLOOR_KEYS, "network_tasks"),
        context=table_context,
        device=config["device"],
    shell:
        "python -u -m disentangle score-networks --model {input.model:q}"
        " --ingredients {input.ingredients:q} --settings {params.settings:q}"
        " --floors {input.floors:q} --context {params.context:q} --out {output:q}"
        " --device {params.device:q} --threads {threads} > {log:q} 2>&1"
