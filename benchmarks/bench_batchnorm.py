"""Keras BatchNormalization vs keras_gans' fused one: G + D forward and backward of the 64 px DCGAN, float32,
interleaved in one process, wall and CPU seconds per 3 steps.   python benchmarks/bench_batchnorm.py [ROUNDS]"""
import os, time, sys
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["TF_CPP_MIN_LOG_LEVEL"]="2"
import tensorflow as tf, keras
tf.config.threading.set_inter_op_parallelism_threads(1)
from keras import layers

from keras_gans.nets.fused_bn import FusedBatchNormalization as FusedBN

def G(bn):
    x = inp = keras.Input((100,))
    x = layers.Dense(4*4*512, use_bias=False)(x); x = layers.Reshape((4,4,512))(x); x = bn(momentum=0.9, epsilon=1e-5)(x); x = layers.ReLU()(x)
    for w in (256,128,64):
        x = layers.Conv2DTranspose(w,5,2,padding="same",use_bias=False)(x); x = bn(momentum=0.9, epsilon=1e-5)(x); x = layers.ReLU()(x)
    x = layers.Conv2DTranspose(3,5,2,padding="same")(x); x = layers.Activation("tanh")(x)
    return keras.Model(inp, x)
def D(bn):
    x = inp = keras.Input((64,64,3))
    for i,w in enumerate((64,128,256,512)):
        x = layers.Conv2D(w,5,2,padding="same")(x)
        if i: x = bn(momentum=0.9, epsilon=1e-5)(x)
        x = layers.LeakyReLU(0.2)(x)
    x = layers.Flatten()(x); x = layers.Dense(1)(x)
    return keras.Model(inp, x)

def make(bn):
    g, d = G(bn), D(bn)
    @tf.function
    def step(z, real):
        with tf.GradientTape() as tape:
            fake = g(z, training=True)
            loss = tf.reduce_mean(d(fake, training=True)) + tf.reduce_mean(d(real, training=True))
        return tape.gradient(loss, g.trainable_variables + d.trainable_variables)
    return step
z = tf.random.normal([64,100]); real = tf.random.normal([64,64,64,3])
arms = {"keras_bn": make(layers.BatchNormalization), "fused_bn": make(FusedBN)}
for f in arms.values(): f(z, real); f(z, real)
res = {k: [] for k in arms}
for r in range(int(sys.argv[1]) if len(sys.argv)>1 else 4):
    for k in (list(arms) if r%2==0 else list(arms)[::-1]):
        t0=time.perf_counter(); c0=time.process_time()
        for _ in range(3): [x.numpy() for x in arms[k](z, real)[:1]]
        res[k].append((time.perf_counter()-t0, time.process_time()-c0))
for k,v in res.items(): print(k, "wall", [round(a,2) for a,b in v], "cpu", [round(b,2) for a,b in v])
