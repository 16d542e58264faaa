/* SPDX-License-Identifier: MIT */
/*
 * libvfiokit: build PCI devices in a process and serve or inspect them over
 * VFIO. This header includes every public header.
 */
#ifndef VFIOKIT_VFIOKIT_H
#define VFIOKIT_VFIOKIT_H

#include <vfiokit/version.h>
#include <vfiokit/log.h>
#include <vfiokit/device.h>
#include <vfiokit/region.h>
#include <vfiokit/shmem.h>
#include <vfiokit/caps.h>
#include <vfiokit/pci_config.h>
#include <vfiokit/irq.h>
#include <vfiokit/dma.h>
#include <vfiokit/event.h>
#include <vfiokit/server.h>
#include <vfiokit/transport.h>
#include <vfiokit/capchain.h>
#include <vfiokit/client.h>
#include <vfiokit/passthrough.h>
#include <vfiokit/proxy.h>

#endif
