/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * hv/virt.h - libvirt, loaded on first use (util/dlib.h says why).
 * hv/libvirt.c includes this instead of <libvirt/libvirt.h>: the calls
 * keep libvirt's own names and types, and go through a table that
 * hv_virt_load() fills.  A call missing from the list is a link error
 * (libvirt is not linked), a listed name libvirt lacks a compile error.
 */
#ifndef OVFK_HV_VIRT_H
#define OVFK_HV_VIRT_H

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "util/err.h"

/* Every libvirt function hv/libvirt.c calls. */
#define HV_VIRT_FUNCS(X) \
    X(virConnectClose) X(virConnectGetType) X(virConnectListAllDomains) \
    X(virConnectListAllNetworks) X(virConnectOpen) X(virDomainCreate) \
    X(virDomainDefineXML) X(virDomainDestroy) X(virDomainFree) \
    X(virDomainGetXMLDesc) X(virDomainIsActive) X(virDomainLookupByUUID) \
    X(virDomainUndefine) X(virDomainUndefineFlags) X(virGetLastErrorMessage) \
    X(virNetworkFree) X(virNetworkGetName) X(virSetErrorFunc) \
    X(virStoragePoolFree) X(virStoragePoolGetXMLDesc) \
    X(virStoragePoolLookupByName)

enum {
#define HV_VIRT_ENUM(n) HV_VIRT_##n,
    HV_VIRT_FUNCS(HV_VIRT_ENUM)
#undef HV_VIRT_ENUM
    HV_VIRT_COUNT
};

extern void *hv_virt[HV_VIRT_COUNT];

/* Load libvirt and resolve the table: 0, or a negative errno with e set
 * (the message names the package to install).  Call before any other. */
int hv_virt_load(ovfk_err *e);

#define HV_VIRT(n) ((__typeof__(n) *)hv_virt[HV_VIRT_##n])
#define virConnectClose(...) HV_VIRT(virConnectClose)(__VA_ARGS__)
#define virConnectGetType(...) HV_VIRT(virConnectGetType)(__VA_ARGS__)
#define virConnectListAllDomains(...) \
    HV_VIRT(virConnectListAllDomains)(__VA_ARGS__)
#define virConnectListAllNetworks(...) \
    HV_VIRT(virConnectListAllNetworks)(__VA_ARGS__)
#define virConnectOpen(...) HV_VIRT(virConnectOpen)(__VA_ARGS__)
#define virDomainCreate(...) HV_VIRT(virDomainCreate)(__VA_ARGS__)
#define virDomainDefineXML(...) HV_VIRT(virDomainDefineXML)(__VA_ARGS__)
#define virDomainDestroy(...) HV_VIRT(virDomainDestroy)(__VA_ARGS__)
#define virDomainFree(...) HV_VIRT(virDomainFree)(__VA_ARGS__)
#define virDomainGetXMLDesc(...) HV_VIRT(virDomainGetXMLDesc)(__VA_ARGS__)
#define virDomainIsActive(...) HV_VIRT(virDomainIsActive)(__VA_ARGS__)
#define virDomainLookupByUUID(...) HV_VIRT(virDomainLookupByUUID)(__VA_ARGS__)
#define virDomainUndefine(...) HV_VIRT(virDomainUndefine)(__VA_ARGS__)
#define virDomainUndefineFlags(...) HV_VIRT(virDomainUndefineFlags)(__VA_ARGS__)
#define virGetLastErrorMessage(...) HV_VIRT(virGetLastErrorMessage)(__VA_ARGS__)
#define virNetworkFree(...) HV_VIRT(virNetworkFree)(__VA_ARGS__)
#define virNetworkGetName(...) HV_VIRT(virNetworkGetName)(__VA_ARGS__)
#define virSetErrorFunc(...) HV_VIRT(virSetErrorFunc)(__VA_ARGS__)
#define virStoragePoolFree(...) HV_VIRT(virStoragePoolFree)(__VA_ARGS__)
#define virStoragePoolGetXMLDesc(...) \
    HV_VIRT(virStoragePoolGetXMLDesc)(__VA_ARGS__)
#define virStoragePoolLookupByName(...) \
    HV_VIRT(virStoragePoolLookupByName)(__VA_ARGS__)

#endif
