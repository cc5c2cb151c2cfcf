import subprocess
import sys


def test_tiny_model_loads_with_plain_auto_classes_offline(tiny_model_dir, tiny_qwen3_dir):
    code = (
        "import sys; from transformers import AutoTokenizer, AutoModelForCausalLM\n"
        "for p in sys.argv[1:]:\n"
        "    t = AutoTokenizer.from_pretrained(p); m = AutoModelForCausalLM.from_pretrained(p)\n"
        "    s = t.apply_chat_template([{'role': 'user', 'content': 'hi'}], tokenize=False, add_generation_prompt=True)\n"
        "    assert s.endswith('<|im_start|>assistant\\n'), s\n"
        "    ids = t(s, return_tensors='pt').input_ids\n"
        "    out = m.generate(ids, max_new_tokens=3, do_sample=False)\n"
        "    assert out.shape[1] >= ids.shape[1]\n"
        "    print(type(m).__name__)\n"
    )
    env = {"HF_HUB_OFFLINE": "1", "PATH": ""}
    out = subprocess.run([sys.executable, "-c", code, str(tiny_model_dir), str(tiny_qwen3_dir)], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["Qwen2ForCausalLM", "Qwen3ForCausalLM"]
